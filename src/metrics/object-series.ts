import { Counter, Gauge } from 'prom-client';

type ObjectLabel = 'name' | 'namespace' | 'backend';
type CallLabel = ObjectLabel | 'status';
type Labels<T extends string> = Readonly<Record<T, string>>;

/**
 * One series as prom-client's registry prints it. `sharedLabels` carries the same labels object as `labels`:
 * the registry formats shared labels once per object (a WeakMap), so a series kept across scrapes has its
 * label text escaped and joined once, not on every scrape.
 */
interface Series<T extends string> {
  value: number;
  readonly labels: Labels<T>;
  readonly sharedLabels: Labels<T>;
}

const seriesOf = <T extends string>(labels: Labels<T>, value = 0): Series<T> => ({
  value,
  labels,
  sharedLabels: labels,
});

/** One ExternalSecret's syncs through one backend, as numbers updated in place. */
interface ObjectSyncRecord {
  readonly successes: Series<CallLabel>;
  readonly errors: Series<CallLabel>;
  /** 1 success, -1 error. */
  readonly state: Series<ObjectLabel>;
  /** Unix seconds of the last successful sync; 0 until there is one. */
  readonly lastSuccess: Series<ObjectLabel>;
}

/**
 * The per-object sync series (five per ExternalSecret with the KES names), kept as plain records and turned
 * into series only when /metrics is scraped. A refresh updates three numbers; through prom-client's own
 * counters and gauges it sorted, validated and hashed the labels of each of its series on every sync, the
 * controller's largest allocation per unchanged refresh after the backend clients.
 */
export class ObjectSyncSeries {
  /** Records by `namespace/name`, then by backend (an object whose backend changed has series for both). */
  private readonly records = new Map<string, Map<string, ObjectSyncRecord>>();

  record(name: string, namespace: string, backend: string, success: boolean, nowSeconds: number): void {
    const key = `${namespace}/${name}`;
    let byBackend = this.records.get(key);
    if (!byBackend) {
      byBackend = new Map();
      this.records.set(key, byBackend);
    }
    let record = byBackend.get(backend);
    if (!record) {
      const labels = { name, namespace, backend };
      record = {
        successes: seriesOf({ ...labels, status: 'success' }),
        errors: seriesOf({ ...labels, status: 'error' }),
        state: seriesOf(labels),
        lastSuccess: seriesOf(labels),
      };
      byBackend.set(backend, record);
    }
    if (success) {
      record.successes.value += 1;
      record.state.value = 1;
      record.lastSuccess.value = nowSeconds;
    } else {
      record.errors.value += 1;
      record.state.value = -1;
    }
  }

  forget(name: string, namespace: string): void {
    this.records.delete(`${namespace}/${name}`);
  }

  /** Sync counts by outcome; an outcome that never happened has no series, as with a prom-client counter. */
  calls(): Array<Series<CallLabel>> {
    const series: Array<Series<CallLabel>> = [];
    for (const record of this.allRecords()) {
      if (record.successes.value > 0) series.push(record.successes);
      if (record.errors.value > 0) series.push(record.errors);
    }
    return series;
  }

  states(): Array<Series<ObjectLabel>> {
    const series: Array<Series<ObjectLabel>> = [];
    for (const record of this.allRecords()) series.push(record.state);
    return series;
  }

  lastSuccesses(): Array<Series<ObjectLabel>> {
    const series: Array<Series<ObjectLabel>> = [];
    for (const record of this.allRecords()) if (record.lastSuccess.value > 0) series.push(record.lastSuccess);
    return series;
  }

  private *allRecords(): Generator<ObjectSyncRecord> {
    for (const byBackend of this.records.values()) yield* byBackend.values();
  }
}

interface SeriesMetricConfig<T extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  /** The series, read when the registry asks for them (a scrape). */
  readonly series: () => Array<Series<T>>;
}

/** A prom-client counter whose series come from `series()` when scraped, not from `inc`. */
export class SeriesCounter<T extends string> extends Counter<T> {
  private readonly series: () => Array<Series<T>>;

  constructor({ series, ...config }: SeriesMetricConfig<T>) {
    super(config);
    this.series = series;
  }

  override async get(): ReturnType<Counter<T>['get']> {
    return { ...(await super.get()), values: this.series() };
  }
}

/** A prom-client gauge whose series come from `series()` when scraped, not from `set`. */
export class SeriesGauge<T extends string> extends Gauge<T> {
  private readonly series: () => Array<Series<T>>;

  constructor({ series, ...config }: SeriesMetricConfig<T>) {
    super(config);
    this.series = series;
  }

  override async get(): ReturnType<Gauge<T>['get']> {
    return { ...(await super.get()), values: this.series() };
  }
}
