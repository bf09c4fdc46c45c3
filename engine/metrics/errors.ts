/** Inputs a metric cannot score: empty or mismatched vectors, non-finite values, ids that are not classes. */
export class MetricError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetricError';
  }
}

/** Checks that predictions and labels pair up and are not empty. */
export function checkPaired(name: string, predictions: { readonly length: number }, labels: { readonly length: number }): void {
  if (predictions.length !== labels.length) throw new MetricError(`${name}: ${predictions.length} predictions for ${labels.length} labels`);
  if (predictions.length === 0) throw new MetricError(`${name}: no predictions to score`);
}
