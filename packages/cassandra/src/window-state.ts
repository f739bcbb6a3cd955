/** The aggregator state of windows: which are open (not final yet), and the index they were published into. */
import type { WindowGranularity, WindowRef } from '@clickstream/metrics';
import type { StateRequests } from './state-requests.ts';
import type { WriteFence } from './write-fence.ts';

/** The windows' part of `AggregatorStateRepository` (aggregator-state.ts says what every write promises). */
export interface WindowState {
  /** The windows recorded open ({@link markOpen}) and not yet final ({@link markFinal}). */
  listOpenWindows(): Promise<WindowRef[]>;
  /** The UUID of the index the stored windows were last published into under `alias` (undefined: never recorded). */
  readPublishedIndex(alias: string): Promise<string | undefined>;
  recordPublishedIndex(alias: string, indexUuid: string, fence: WriteFence): Promise<void>;
  /** Records windows as open: indexed with `final: false`, to be indexed again once final. */
  markOpen(windows: readonly WindowRef[], fence: WriteFence): Promise<void>;
  /** Records windows as final (indexed so): no longer listed open. */
  markFinal(windows: readonly WindowRef[], fence: WriteFence): Promise<void>;
}

export function createWindowState({ ks, executeAll, rows }: StateRequests): WindowState {
  return {
    async listOpenWindows() {
      const found = await rows(`SELECT granularity, window_start FROM ${ks}.open_windows WHERE shard = 0`, []);
      return found.map((row) => ({
        granularity: row.get('granularity') as WindowGranularity,
        windowStartMs: (row.get('window_start') as Date).getTime(),
      }));
    },

    async readPublishedIndex(alias) {
      const [row] = await rows(`SELECT index_uuid FROM ${ks}.published_index WHERE alias = ?`, [alias]);
      return (row?.get('index_uuid') as string | null | undefined) ?? undefined;
    },

    async recordPublishedIndex(alias, indexUuid, fence) {
      await executeAll([
        {
          query: `INSERT INTO ${ks}.published_index (alias, index_uuid) VALUES (?, ?) USING TIMESTAMP ?`,
          params: [alias, indexUuid, fence.nextTimestamp()],
        },
      ]);
    },

    async markOpen(windows, fence) {
      const at = fence.nextTimestamp();
      await executeAll(
        windows.map((w) => ({
          query: `INSERT INTO ${ks}.open_windows (shard, granularity, window_start) VALUES (0, ?, ?) USING TIMESTAMP ?`,
          params: [w.granularity, new Date(w.windowStartMs), at],
        })),
      );
    },

    async markFinal(windows, fence) {
      const at = fence.nextTimestamp();
      await executeAll(
        windows.map((w) => ({
          query: `DELETE FROM ${ks}.open_windows USING TIMESTAMP ? WHERE shard = 0 AND granularity = ? AND window_start = ?`,
          params: [at, w.granularity, new Date(w.windowStartMs)],
        })),
      );
    },
  };
}
