/**
 * A Cassandra node killed with SIGKILL mid-ingest (the first contact point, the hardest one to
 * lose): with RF 3 and LOCAL_QUORUM two replicas of three still take every write, so ingest must
 * keep running and store every row exactly once. The node is started again at the end.
 */
import { nodeLossScenario } from './node-loss-checks.ts';

nodeLossScenario({ name: 'cassandra-loss', victim: 'cassandra-1', seed: 101 });
