// The fuzz property's judgement of a thrown value: a parser may refuse bad input only with an Error
// of its own whose message names the source (file) and the field. Built-in engine errors escaping
// from deep inside a parser (TypeError, RangeError, ...) are bugs: the input was not validated.
const ENGINE_ERRORS = new Set(["TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError", "AggregateError", "InternalError"]);

/** null when the error is an acceptable refusal, else why it is a bug. */
export function verdict(e, source, field) {
  if (!(e instanceof Error)) return `threw a non-Error value: ${String(e).slice(0, 200)}`;
  const ctor = e.constructor?.name ?? "?";
  if (ENGINE_ERRORS.has(ctor) || ENGINE_ERRORS.has(e.name)) {
    return `${ctor} escaped from the parser: ${e.message.slice(0, 300)}\n${(e.stack ?? "").split("\n").slice(1, 5).join("\n")}`;
  }
  if (typeof e.message !== "string" || !e.message.includes(source)) {
    return `error does not name the source ${JSON.stringify(source)}: ${ctor}: ${String(e.message).slice(0, 300)}`;
  }
  if (field && !field.test(e.message)) return `error does not name a field (${field}): ${e.message.slice(0, 300)}`;
  return null;
}
