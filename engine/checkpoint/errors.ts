/** The checkpoint modules' one error type: unreadable, malformed or mismatched checkpoint files. */
export class CheckpointError extends Error {
  /** The file (or folder) the problem is in. */
  readonly file: string;

  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'CheckpointError';
    this.file = file;
  }
}
