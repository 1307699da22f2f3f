// Teardown stack for what a benchmark starts: each task runs once, last-registered first, on success, failure or Ctrl-C.

interface Task {
  label: string;
  run: () => Promise<void>;
}

export class Cleanup {
  private readonly tasks: Task[] = [];

  constructor(private readonly onError: (label: string, err: unknown) => void) {}

  /** Registers `fn`; the returned function runs it now (once) and unregisters it. */
  defer(label: string, fn: () => Promise<void> | void): () => Promise<void> {
    let running: Promise<void> | undefined;
    const task: Task = {
      label,
      run: () => {
        running ??= (async () => {
          const i = this.tasks.indexOf(task);
          if (i !== -1) this.tasks.splice(i, 1);
          try {
            await fn();
          } catch (err) {
            this.onError(label, err);
          }
        })();
        return running;
      },
    };
    this.tasks.push(task);
    return task.run;
  }

  get pending(): number {
    return this.tasks.length;
  }

  /** Runs every registered task, newest first; errors are reported, never thrown. */
  async runAll(): Promise<void> {
    while (this.tasks.length > 0) await this.tasks[this.tasks.length - 1].run();
  }
}
