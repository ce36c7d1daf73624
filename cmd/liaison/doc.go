// Command liaison runs Liaison: the web process (serve), the worker, the
// scheduler, or all three in one process (dev, the default), plus the
// operator's commands (migrate, tokens, version). Configuration comes from
// the environment only; see the config package and the README.
package main
