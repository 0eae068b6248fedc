// `node --import <this file> ...`: prints the process's peak resident memory (KiB) on stderr at exit,
// for tests and scripts that bound what one CLI run may cost.
process.on("exit", () => {
  process.stderr.write(`\n[maxrss-kib ${process.resourceUsage().maxRSS}]\n`);
});
