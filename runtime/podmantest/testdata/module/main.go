// Command module is the test module image's only program. Its behaviour is
// chosen by the MODE environment variable:
//
//	run    (default) log a line now and every second, run until stopped
//	crash  log a line and exit with code 3 at once
//	exit0  log a line and exit with code 0
//
// "module health" is the health check: it succeeds unless the file named by
// UNHEALTHY_FILE exists.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "health" {
		if f := os.Getenv("UNHEALTHY_FILE"); f != "" {
			if _, err := os.Stat(f); err == nil {
				os.Exit(1)
			}
		}
		return
	}

	name := os.Getenv("MODULE_NAME")
	fmt.Printf("hello from %s mode=%s\n", name, os.Getenv("MODE"))
	switch os.Getenv("MODE") {
	case "crash":
		os.Exit(3)
	case "exit0":
		return
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(time.Second)
	for {
		select {
		case <-sig:
			fmt.Printf("%s stopping\n", name)
			return
		case <-tick.C:
			fmt.Printf("%s tick\n", name)
		}
	}
}
