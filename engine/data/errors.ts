/**
 * The data layer's one error type. Every problem with a data file names the file and,
 * where it has one, the 1-based line (text formats) or the JSON path (SQuAD), so that
 * `file:line: message` can be clicked in an editor's terminal.
 */
export class DataError extends Error {
  /** The data file (as given: usually absolute). */
  readonly file: string;
  /** 1-based line of the row or record the problem is in; undefined for whole-file problems. */
  readonly line: number | undefined;
  /** JSON path such as `data[3].paragraphs[0].qas[2].answers[0].answer_start` (SQuAD files). */
  readonly path: string | undefined;
  /** The message without its location. */
  readonly detail: string;

  constructor(file: string, line: number | undefined, detail: string, path?: string) {
    super(`${file}${line !== undefined ? `:${line}` : ''}${path !== undefined ? ` (${path})` : ''}: ${detail}`);
    this.name = 'DataError';
    this.file = file;
    this.line = line;
    this.path = path;
    this.detail = detail;
  }
}
