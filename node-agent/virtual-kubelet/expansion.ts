// TEST INFRASTRUCTURE (virtual kubelet). Kubernetes `$(VAR)` expansion, as kubelet applies it to env values, command and args.
//
// A port of k8s.io/kubernetes third_party/forked/golang/expansion: `$(NAME)` is replaced by the mapping's value;
// `$$` is an escaped `$`; a reference the mapping does not know stays as written (`$(NAME)`); an unclosed `$(`
// and a `$` before any other character are copied as is.

/** Resolves a variable name; `undefined` means unknown (the reference stays). */
export type Mapping = (name: string) => string | undefined;

/** A mapping over several sources, the first that has the name winning (kubelet: the container's env, then service env). */
export function mappingFor(...sources: ReadonlyArray<ReadonlyMap<string, string> | Readonly<Record<string, string>>>): Mapping {
  return (name) => {
    for (const source of sources) {
      if (source instanceof Map) {
        if (source.has(name)) return source.get(name);
      } else if (Object.hasOwn(source, name)) {
        return (source as Record<string, string>)[name];
      }
    }
    return undefined;
  };
}

export function expand(input: string, mapping: Mapping): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const next = input[cursor + 1];
    if (next === '$') {
      // Escaped operator.
      out += '$';
      cursor += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', cursor + 2);
      if (close < 0) {
        // Incomplete reference: keep "$(" and scan on after it.
        out += '$(';
        cursor += 1;
      } else {
        const name = input.slice(cursor + 2, close);
        out += mapping(name) ?? `$(${name})`;
        cursor = close;
      }
    } else {
      // An operator that does not start an expression.
      out += `$${next}`;
      cursor += 1;
    }
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}
