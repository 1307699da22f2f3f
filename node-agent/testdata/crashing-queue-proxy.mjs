// A broken queue-proxy for the warm spare tests: prints one line and exits 1 at once.
console.log('crashing queue-proxy started');
process.exit(1);
