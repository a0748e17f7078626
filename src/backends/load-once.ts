/**
 * A module (or any one-time asynchronous value) loaded on first use and shared from then on. The backends'
 * SDKs load this way: a controller with no ExternalSecret of a backend never pays that SDK's memory (README
 * "Memory"). A failed load is not kept, so the next use tries again.
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () =>
    (loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    }));
}
