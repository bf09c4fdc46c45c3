/**
 * Cancelling a job without waiting for the work in flight: the job stops awaiting it, and
 * whoever owns that work (the trainer process) abandons it.
 */

/** The job was cancelled (SIGINT/SIGTERM, or its caller's AbortSignal). */
export class CancelledError extends Error {
  constructor(message = 'cancelled by the user') {
    super(message);
  }
}

/**
 * `work`, or a CancelledError as soon as `signal` aborts, whichever comes first. An
 * abandoned promise's later failure is swallowed: nothing is waiting for it any more.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(new CancelledError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      work.catch(() => undefined);
      reject(new CancelledError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
