/** One CQL statement with its parameters, as the driver's batches take them. */
export interface Statement {
  query: string;
  params: unknown[];
}

/** Rough size of a statement in a batch: its parameters, plus a little for the rest. */
export function statementBytes(statement: Statement): number {
  let bytes = 64;
  for (const p of statement.params) bytes += typeof p === 'string' ? Buffer.byteLength(p) : 8;
  return bytes;
}

/**
 * Writes of one partition each (a group's new all-time users and their count, a group's day
 * totals and sums), applied in unlogged batches shared with the partitions submitted meanwhile:
 * one request for up to `maxPartitions` partitions instead of one each. Cassandra applies each
 * partition's statements of a batch as one mutation, so a partition's writes still land together
 * or not at all; different partitions of one batch may not (a failed batch rejects every
 * partition in it, and each caller retries its own).
 */
export interface PartitionBatcher {
  /** Applies one partition's statements together; rejects with the error of the request that carried them. */
  submit(statements: readonly Statement[]): Promise<void>;
}

interface Pending {
  readonly statements: readonly Statement[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * @param options.send one request: the statements in one unlogged batch (or alone).
 * @param options.maxPartitions partitions per request at most (Cassandra warns past 10 by default).
 * @param options.maxBytes bytes per request at most (see {@link statementBytes}); a bigger partition goes alone.
 * @param options.concurrency requests in flight at most; partitions submitted meanwhile wait and go together.
 */
export function createPartitionBatcher(options: {
  send: (statements: readonly Statement[]) => Promise<void>;
  maxPartitions: number;
  maxBytes: number;
  concurrency: number;
}): PartitionBatcher {
  const queue: Pending[] = [];
  let inFlight = 0;
  let scheduled = false;

  const nextRequest = (): Pending[] => {
    const first = queue.shift();
    if (first === undefined) return [];
    const request = [first];
    let bytes = first.bytes;
    for (let next = queue[0]; next !== undefined; next = queue[0]) {
      if (request.length >= options.maxPartitions || bytes + next.bytes > options.maxBytes) break;
      request.push(next);
      bytes += next.bytes;
      queue.shift();
    }
    return request;
  };

  const pump = (): void => {
    scheduled = false;
    while (inFlight < options.concurrency && queue.length > 0) {
      const request = nextRequest();
      inFlight += 1;
      options
        .send(request.flatMap((pending) => pending.statements))
        .then(
          () => {
            for (const pending of request) pending.resolve();
          },
          (error: unknown) => {
            for (const pending of request) pending.reject(error);
          },
        )
        .finally(() => {
          inFlight -= 1;
          schedule();
        });
    }
  };

  // After the current turn: the partitions submitted in it go together.
  const schedule = (): void => {
    if (scheduled || queue.length === 0) return;
    scheduled = true;
    setImmediate(pump);
  };

  return {
    submit(statements) {
      if (statements.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ statements, bytes: statements.reduce((sum, statement) => sum + statementBytes(statement), 0), resolve, reject });
        schedule();
      });
    },
  };
}
