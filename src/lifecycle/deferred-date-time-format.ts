/**
 * NestJS's loggers build an `Intl.DateTimeFormat` when their module loads, for the timestamps of its console
 * output; this controller logs through pino and never formats with it. Building one makes V8 load ICU's locale
 * and calendar data, about 8 MiB of resident pages, for the process's whole life. While the application's
 * modules load, `Intl.DateTimeFormat` builds a stand-in that creates the real formatter on its first use;
 * afterwards the real constructor is back, and nothing else changes.
 */
export async function withDeferredDateTimeFormat<T>(load: () => Promise<T>): Promise<T> {
  const RealDateTimeFormat = Intl.DateTimeFormat;
  Intl.DateTimeFormat = deferredDateTimeFormat(RealDateTimeFormat);
  try {
    return await load();
  } finally {
    Intl.DateTimeFormat = RealDateTimeFormat;
  }
}

function deferredDateTimeFormat(Real: typeof Intl.DateTimeFormat): typeof Intl.DateTimeFormat {
  // A function, not an arrow: callers use `new`, and an object returned from a constructor is the result.
  function DeferredDateTimeFormat(...args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
    let real: Intl.DateTimeFormat | undefined;
    const formatter = () => (real ??= new Real(...args));
    // Every method of a real formatter, each building it first; arrows, as a real `format` is bound too.
    return {
      format: (date?: Date | number) => formatter().format(date),
      formatToParts: (date?: Date | number) => formatter().formatToParts(date),
      formatRange: (start: Date | number, end: Date | number) => formatter().formatRange(start, end),
      formatRangeToParts: (start: Date | number, end: Date | number) =>
        formatter().formatRangeToParts(start, end),
      resolvedOptions: () => formatter().resolvedOptions(),
    };
  }
  DeferredDateTimeFormat.supportedLocalesOf = (...args: Parameters<typeof Real.supportedLocalesOf>) =>
    Real.supportedLocalesOf(...args);
  return DeferredDateTimeFormat as unknown as typeof Intl.DateTimeFormat;
}
