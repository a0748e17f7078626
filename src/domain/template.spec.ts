import { describe, expect, it } from 'vitest';
import { renderTemplate, TemplateError } from './template.js';

const values = new Map([
  ['password', 'p@ss'],
  ['user-name', 'ädmin'],
]);

describe('renderTemplate', () => {
  it('interpolates data references in every string, keeping the rest', () => {
    expect(
      renderTemplate(
        {
          stringData: { 'config.yaml': 'user: <%= data["user-name"] %>\npass: <%=data.password%>' },
          metadata: { labels: { plain: 'text' } },
          list: ["<%= data['password'] %>", 3],
        },
        values,
      ),
    ).toEqual({
      stringData: { 'config.yaml': 'user: ädmin\npass: p@ss' },
      metadata: { labels: { plain: 'text' } },
      list: ['p@ss', 3],
    });
  });

  it.each([
    ['<% process.exit(1) %>'],
    ['<%= process.env.AWS_SECRET_ACCESS_KEY %>'],
    ['<%= data.password.toUpperCase() %>'],
    ['<%- data.password %>'],
    ["<%= require('child_process') %>"],
    ['<%= yaml.dump(data) %>'],
  ])('refuses %s without evaluating it', (tag) => {
    expect(() => renderTemplate({ value: tag }, values)).toThrow(TemplateError);
  });

  it('names a missing data reference', () => {
    expect(() => renderTemplate({ value: '<%= data.nope %>' }, values)).toThrow(
      'template refers to data.nope, which the Secret does not have',
    );
  });

  it('does not let a __proto__ key pollute prototypes', () => {
    const rendered = renderTemplate(JSON.parse('{"__proto__": {"polluted": "yes"}}') as object, values);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(rendered)).toBe(Object.prototype);
  });
});
