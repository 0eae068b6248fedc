/** One non-blank line of a TSV file, split on tabs, with its 1-based line number. */
export interface TsvRow {
  line: number;
  fields: string[];
}

/**
 * Splits a GLUE TSV file. GLUE files are read with quoting off (Python `csv.QUOTE_NONE`): a `"` is an
 * ordinary character and a field never spans lines, so a plain split on "\n" and "\t" is exact. A
 * leading UTF-8 BOM (MRPC) is dropped; "\r\n" endings are accepted; blank lines (the final newline, or
 * none — CoLA dev has no trailing newline) are skipped.
 */
export function splitTsv(text: string): TsvRow[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split("\n");
  const rows: TsvRow[] = [];
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    if (l.endsWith("\r")) l = l.slice(0, -1);
    if (l.trim() === "") continue;
    rows.push({ line: i + 1, fields: l.split("\t") });
  }
  return rows;
}
