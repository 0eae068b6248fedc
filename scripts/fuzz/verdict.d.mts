/** null when the error is an acceptable refusal, else why it is a bug. */
export function verdict(e: unknown, source: string, field?: RegExp): string | null;
