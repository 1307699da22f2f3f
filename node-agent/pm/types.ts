// Persistent memory on a node: the shapes shared by the device (emulated or real), calibration, the profiler and admission.

/** How a node's PM is provided. */
export type PmMode = 'dax' | 'emulated' | 'plain';

/**
 * The contention model of the emulated device: aggregate bandwidth as a function of concurrent
 * users. Writes rise to a peak at `writePeakWriters` and then fall towards `writeFloorFraction` of
 * the peak (reached at `writeFloorWriters`); reads rise to a much higher peak and stay there.
 */
export interface ContentionParams {
  /** Aggregate write bandwidth at the peak, bytes/s. */
  writePeakBytesPerSecond: number;
  /** Concurrent writers at which aggregate write bandwidth peaks. */
  writePeakWriters: number;
  /** One writer's bandwidth as a fraction of the peak (the curve rises from here). */
  writeSingleFraction: number;
  /** Aggregate write bandwidth with many writers, as a fraction of the peak. */
  writeFloorFraction: number;
  /** Writers from which the floor holds. */
  writeFloorWriters: number;
  /** Aggregate read bandwidth at the peak, bytes/s. */
  readPeakBytesPerSecond: number;
  readPeakReaders: number;
  readSingleFraction: number;
}

/** The device functions' PM files live on: the node agent times every read and write through it. */
export interface PmDevice {
  readonly mode: PmMode;
  /** Directory of the PM files (a DAX mount, or a tmpfs directory for the emulation). */
  readonly dir: string;
  /** Resolves when `bytes` of writing would be done, sharing the device with every other user (at once when not emulated). */
  write(bytes: number): Promise<void>;
  read(bytes: number): Promise<void>;
  readonly activeWriters: number;
  readonly activeReaders: number;
  close(): Promise<void>;
}

export interface CalibrationPoint {
  writers: number;
  writeBytesPerSecond: number;
}

export interface Calibration {
  points: CalibrationPoint[];
  /** Writers admitted at once; Infinity = unbounded (no collapse: admission is off). */
  writerLimit: number;
}

/** What a function is expected to use per invocation (the profiler's moving averages). */
export interface PmProfile {
  readBytes: number;
  writtenBytes: number;
  durationMs: number;
  /** Slowdown per additional concurrent writer (0 = insensitive), from observed durations. */
  sensitivity: number;
  samples: number;
}

export type AdmissionClass = 'reader' | 'writer';

/** Per-invocation demand on the node's resources, in units the fair queue compares (shares of capacity per second). */
export interface Demand {
  cpu: number;
  pmRead: number;
  pmWrite: number;
}
