"""What the benchmark scripts in tools/bench share.

The scripts are launchers; each benchmark lives in a module here:

  run         mount_bench       isofuse mount vs fuseiso
  concurrent  concurrent_bench  64 readers + 8 walkers at once, vs fuseiso
  stage       stage_bench       isofuse stage vs fuse-overlayfs
  master      master_bench      isofuse master vs genisoimage and xorriso
  burn        burn_bench        isofuse-burn into the simulated drive

built from these parts:

  common     constants, logging, errors, the child environment, caches,
             host facts (load average, commit), the start-up baseline
  cli        the options every script has and the main-function frame
             (work folder check, signals, exit codes, finally clean-up)
  procs      children in their own session, reaped or killed in finally
  fusemount  a FUSE daemon in the foreground: start, wait until it answers,
             memory, unmount and reap
  images     ISO images built with xorriso from generated, checkable trees
  readers    isofuse mount and fuseiso as argv builders
  trees      the source trees of the mastering benchmarks (master, burn)
  report     metrics, goals (from issue #17) and the side-by-side table
  pyspy      a summary of py-spy's raw output (top frames)

Standard library only, so any python3 runs them; the code under test is
this checkout, put first on the children's PYTHONPATH.
"""
