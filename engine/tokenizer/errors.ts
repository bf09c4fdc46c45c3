/** The tokenizer's one error type: bad or unsupported tokenizer files and impossible requests. */
export class TokenizerError extends Error {
  /** The file the problem is in, when there is one. */
  readonly file: string | undefined;

  constructor(message: string, file?: string) {
    super(file === undefined ? message : `${file}: ${message}`);
    this.name = 'TokenizerError';
    this.file = file;
  }
}
