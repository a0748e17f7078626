/** A template that uses anything but plain value interpolation; the message is safe to show. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

const TAG = /<%([=-]?)([\s\S]*?)%>/g;
const DATA_REFERENCE = /^\s*data\s*(?:\.\s*([A-Za-z_$][\w$]*)|\[\s*(?:"([^"]*)"|'([^']*)')\s*\])\s*$/;

/**
 * Interpolates `<%= data.name %>` (and `data["name"]`) in every string of a template with the decoded
 * Secret values. KES evaluated lodash templates, that is arbitrary JavaScript with the controller's
 * credentials; here nothing is evaluated, and any other tag is an error.
 */
export function renderTemplate<T>(template: T, values: ReadonlyMap<string, string>): T {
  return renderValue(template, values) as T;
}

function renderValue(value: unknown, values: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') return renderString(value, values);
  if (Array.isArray(value)) return value.map((item) => renderValue(item, values));
  if (typeof value === 'object' && value !== null) {
    const rendered: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(rendered, key, {
        value: renderValue(item, values),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return rendered;
  }
  return value;
}

function renderString(text: string, values: ReadonlyMap<string, string>): string {
  return text.replace(TAG, (tag, kind: string, expression: string) => {
    const reference = kind === '=' ? DATA_REFERENCE.exec(expression) : null;
    if (!reference) {
      throw new TemplateError(
        `template tag ${JSON.stringify(tag.length > 60 ? `${tag.slice(0, 60)}…` : tag)} is not supported: only <%= data.<name> %> is`,
      );
    }
    const name = reference[1] ?? reference[2] ?? reference[3] ?? '';
    const found = values.get(name);
    if (found === undefined)
      throw new TemplateError(`template refers to data.${name}, which the Secret does not have`);
    return found;
  });
}
