/**
 * Offline checks of the Kibana saved objects that the compose `kibana` profile imports
 * (deploy/kibana/clickstream.ndjson), no Kibana needed: every line is one object of a known type;
 * the data view names the metrics alias and its date field; every Lens column reads a field of the
 * metrics mapping with an operation that fits its type; every reference resolves; the dashboard's
 * panels point at those visualizations and fit Kibana's 48-column grid without overlapping; and
 * compose's one-shot import posts this very file.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { METRICS_MAPPINGS } from '@clickstream/elasticsearch';
import { dashboardEnvShape } from '../../services/dashboard/src/config.ts';

const root = join(import.meta.dirname, '..', '..');
const FILE = 'deploy/kibana/clickstream.ndjson';

interface Reference {
  readonly type: string;
  readonly id: string;
  readonly name: string;
}
interface SavedObject {
  readonly type: string;
  readonly id: string;
  readonly attributes: Record<string, unknown>;
  readonly references: Reference[];
  readonly typeMigrationVersion?: string;
}
interface LensColumn {
  readonly operationType: string;
  readonly sourceField?: string;
  readonly dataType: string;
  readonly isBucketed: boolean;
  readonly params?: { orderBy?: { type: string; columnId?: string } };
}
interface LensLayer {
  readonly columns: Record<string, LensColumn>;
  readonly columnOrder: string[];
}

const lines = readFileSync(join(root, FILE), 'utf8').split('\n');
const objects: SavedObject[] = lines.filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as SavedObject);
const ofType = (type: string): SavedObject[] => objects.filter((o) => o.type === type);
const fieldTypes: Record<string, string> = Object.fromEntries(
  Object.entries(METRICS_MAPPINGS.properties).map(([field, spec]) => [field, spec.type]),
);
/** Which mapping types each Lens operation can read. */
const OPERATION_TYPES: Record<string, string[]> = {
  date_histogram: ['date'],
  terms: ['keyword'],
  sum: ['long', 'double'],
  average: ['long', 'double'],
  max: ['long', 'double', 'date'],
  min: ['long', 'double', 'date'],
};

describe(FILE, () => {
  it('is one JSON object per line, each with a known type, a unique id, attributes and references', () => {
    assert.equal(lines.at(-1), '', 'ends with a newline');
    assert.ok(objects.length >= 3);
    for (const object of objects) {
      assert.ok(['index-pattern', 'lens', 'dashboard'].includes(object.type), `unexpected type ${object.type}`);
      assert.match(object.id, /^[a-z0-9-]+$/, 'a readable, stable id (re-imports overwrite it)');
      assert.equal(typeof object.attributes.title, 'string');
      assert.ok(Array.isArray(object.references));
      assert.match(object.typeMigrationVersion ?? '', /^\d+\.\d+\.\d+$/, `${object.id}: typeMigrationVersion`);
    }
    assert.equal(new Set(objects.map((o) => `${o.type}/${o.id}`)).size, objects.length, 'ids are unique');
  });

  it('has one data view over the default metrics alias, timed by window_start', () => {
    const [view, ...others] = ofType('index-pattern');
    assert.ok(view);
    assert.deepEqual(others, []);
    assert.equal(view.attributes.title, dashboardEnvShape.ELASTICSEARCH_INDEX.parse(undefined));
    assert.equal(view.attributes.timeFieldName, 'window_start');
    assert.equal(fieldTypes.window_start, 'date');
  });

  it('every Lens visualization reads fields of the metrics mapping with fitting operations, through the data view', () => {
    const lenses = ofType('lens');
    assert.ok(lenses.length >= 3);
    const viewId = ofType('index-pattern')[0]?.id;
    for (const lens of lenses) {
      const state = lens.attributes.state as {
        datasourceStates: { formBased: { layers: Record<string, LensLayer> } };
        visualization: Record<string, unknown>;
        query: { query: string; language: string };
      };
      const layers = Object.entries(state.datasourceStates.formBased.layers);
      assert.ok(layers.length > 0, `${lens.id}: has a layer`);
      for (const [layerId, layer] of layers) {
        const reference = lens.references.find((r) => r.name === `indexpattern-datasource-layer-${layerId}`);
        assert.equal(reference?.type, 'index-pattern', `${lens.id}: layer ${layerId} references a data view`);
        assert.equal(reference.id, viewId, `${lens.id}: through the imported data view`);
        assert.deepEqual([...layer.columnOrder].sort(), Object.keys(layer.columns).sort(), `${lens.id}: columnOrder lists every column`);
        for (const [columnId, column] of Object.entries(layer.columns)) {
          const allowed = OPERATION_TYPES[column.operationType];
          assert.ok(allowed, `${lens.id}.${columnId}: known operation ${column.operationType}`);
          const type = fieldTypes[column.sourceField ?? ''];
          assert.ok(type && allowed.includes(type), `${lens.id}.${columnId}: ${column.sourceField} (${type}) fits ${column.operationType}`);
          assert.equal(column.isBucketed, ['date_histogram', 'terms'].includes(column.operationType), `${lens.id}.${columnId}: isBucketed`);
          if (column.params?.orderBy?.type === 'column')
            assert.ok(layer.columns[column.params.orderBy.columnId ?? ''], `${lens.id}.${columnId}: orders by an existing column`);
        }
        // Every column the chart or table shows exists in the layer.
        const shown = JSON.stringify(state.visualization).match(/"(?:xAccessor|columnId|accessors)":(?:"[^"]*"|\[[^\]]*\])/g) ?? [];
        for (const id of shown.flatMap((entry) => [...entry.matchAll(/"([^"]+)"/g)].map((m) => m[1]).slice(1)))
          assert.ok(id !== undefined && layer.columns[id], `${lens.id}: shows column ${id}, which exists`);
      }
      assert.equal(state.query.language, 'kuery');
      // Each visualization reads one granularity: mixing hour, day and all documents would count clicks three times.
      assert.match(state.query.query, /^granularity : "(hour|day|all)"$/, `${lens.id}: one granularity`);
    }
  });

  it('has a dashboard whose panels reference the visualizations and fit the grid without overlapping', () => {
    const [dashboard] = ofType('dashboard');
    assert.ok(dashboard);
    const panels = JSON.parse(dashboard.attributes.panelsJSON as string) as {
      type: string;
      panelIndex: string;
      panelRefName: string;
      gridData: { x: number; y: number; w: number; h: number; i: string };
    }[];
    assert.equal(panels.length, ofType('lens').length, 'one panel per visualization');
    const cells = new Set<string>();
    for (const panel of panels) {
      const reference = dashboard.references.find((r) => r.name === `${panel.panelIndex}:${panel.panelRefName}`);
      assert.ok(reference, `panel ${panel.panelIndex} has its reference`);
      assert.ok(
        objects.some((o) => o.type === reference.type && o.id === reference.id && o.type === panel.type),
        `panel ${panel.panelIndex} -> ${reference.type}/${reference.id} is in the file`,
      );
      const { x, y, w, h, i } = panel.gridData;
      assert.equal(i, panel.panelIndex);
      assert.ok(x >= 0 && w > 0 && x + w <= 48 && y >= 0 && h > 0, `panel ${i} fits the 48-column grid`);
      for (let col = x; col < x + w; col += 1)
        for (let row = y; row < y + h; row += 1) {
          assert.ok(!cells.has(`${col},${row}`), `panel ${i} overlaps another at ${col},${row}`);
          cells.add(`${col},${row}`);
        }
    }
    assert.equal(dashboard.attributes.timeRestore, true);
    JSON.parse(dashboard.attributes.optionsJSON as string);
    JSON.parse((dashboard.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON);
  });

  it("is what the compose kibana profile's one-shot import posts, after Kibana is healthy", () => {
    const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
      services: Record<
        string,
        { profiles?: string[]; volumes?: string[]; command?: string[]; depends_on?: Record<string, { condition: string }> }
      >;
    };
    const setup = compose.services['kibana-setup'];
    assert.ok(setup, 'docker-compose.yml has kibana-setup');
    assert.deepEqual(setup.profiles, ['kibana']);
    assert.equal(setup.depends_on?.kibana?.condition, 'service_healthy');
    const mount = (setup.volumes ?? []).find((v) => v.startsWith('./deploy/kibana:'));
    assert.ok(mount, 'mounts deploy/kibana');
    const inContainer = mount.split(':')[1] ?? '';
    const command = (setup.command ?? []).join(' ');
    assert.match(command, /\/api\/saved_objects\/_import\?overwrite=true/);
    assert.match(command, /kbn-xsrf/);
    assert.ok(command.includes(`file=@${inContainer}/clickstream.ndjson`), `posts ${inContainer}/clickstream.ndjson`);
  });
});
