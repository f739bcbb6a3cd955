/**
 * A Kafka broker killed with SIGKILL mid-ingest (the first bootstrap broker): with RF 3 and
 * min.insync.replicas 2 the partitions it led get new leaders, so ingest must ride through the
 * lost connections and store every row exactly once. The broker is started again at the end.
 */
import { nodeLossScenario } from './node-loss-checks.ts';

nodeLossScenario({ name: 'kafka-loss', victim: 'kafka-1', seed: 202 });
