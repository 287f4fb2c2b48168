// Command kubia is the sample app of "Kubernetes in Action": an HTTP server
// that answers with its hostname and version. Each replica binds its port
// in its own pod network.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/websocket"
)

func main() {
	listen := flag.String("listen", ":8080", "address to listen on")
	exit := flag.Int("exit", -1, "print a line and exit at once with this code (for tests of restart policies)")
	cat := flag.String("cat", "", "comma-separated files to print at start (for tests of volumes)")
	alloc := flag.Int("alloc", 0, "allocate and touch this many MiB at start (for tests of memory limits)")
	write := flag.String("write", "", "comma-separated files to try to create at start (for tests of security contexts)")
	fill := flag.String("fill", "", "FILE=BYTES: write that many bytes to FILE at start (for tests of emptyDir sizeLimit)")
	lookup := flag.String("lookup", "", "comma-separated names to resolve and print, then exit (for tests of cluster DNS; _port._proto.name asks for SRV)")
	get := flag.String("get", "", "URL to GET and print, then exit (for tests of Services from a pod)")
	flag.Parse()
	if *lookup != "" {
		os.Exit(resolve(strings.Split(*lookup, ",")))
	}
	if *get != "" {
		os.Exit(fetch(*get))
	}
	for _, f := range strings.Split(*write, ",") {
		if f != "" {
			log.Printf("kubia: write %s: %v", f, os.WriteFile(f, []byte("x"), 0o644))
		}
	}
	if f, n, ok := strings.Cut(*fill, "="); ok {
		size, _ := strconv.Atoi(n)
		log.Printf("kubia: fill %s with %d bytes: %v", f, size, os.WriteFile(f, make([]byte, size), 0o644))
	}
	if *alloc > 0 {
		hog := make([][]byte, 0, *alloc)
		for i := 0; i < *alloc; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			hog = append(hog, b)
		}
		log.Printf("kubia: allocated %d MiB", len(hog))
	}
	for _, f := range strings.Split(*cat, ",") {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			log.Printf("kubia: %v", err)
			continue
		}
		log.Printf("kubia: %s: %q", f, data)
	}
	if *exit >= 0 {
		log.Printf("kubia: exiting with code %d", *exit)
		os.Exit(*exit)
	}
	version := os.Getenv("VERSION")
	if version == "" {
		version = "v1"
	}
	host, _ := os.Hostname()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("kubia: listen on %s: %v", *listen, err)
	}
	log.Printf("kubia %s on %s listening on %s", version, host, ln.Addr())
	echo := websocket.Handler(func(ws *websocket.Conn) { // a WebSocket that echoes each message (for tests of proxies)
		var msg string
		for websocket.Message.Receive(ws, &msg) == nil {
			websocket.Message.Send(ws, host+" echoes "+msg)
		}
	})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("request from %s", r.RemoteAddr)
		if r.URL.Path == "/ws" {
			echo.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/client" { // who is asking, as this pod sees it (for tests of NAT)
			client, _, _ := net.SplitHostPort(r.RemoteAddr)
			fmt.Fprintf(w, "client %s\n", client)
			return
		}
		fmt.Fprintf(w, "You've hit %s (version %s)\n", host, version)
	})}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		s := <-sig
		log.Printf("kubia: %v, shutting down", s)
		srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// resolve prints the addresses of each name (the targets and ports of an
// SRV name) as the pod's resolver finds them, and returns 1 if any fails.
func resolve(names []string) int {
	code := 0
	for _, name := range names {
		if strings.HasPrefix(name, "_") {
			_, srvs, err := net.LookupSRV("", "", name)
			if err != nil {
				fmt.Printf("%s: %v\n", name, err)
				code = 1
				continue
			}
			for _, s := range srvs {
				fmt.Printf("%s: SRV %s %d\n", name, s.Target, s.Port)
			}
			continue
		}
		addrs, err := net.LookupHost(name)
		if err != nil {
			fmt.Printf("%s: %v\n", name, err)
			code = 1
			continue
		}
		fmt.Printf("%s: %s\n", name, strings.Join(addrs, " "))
	}
	return code
}

// fetch prints the body of a GET of url, and returns 1 if it fails.
func fetch(url string) int {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Println(err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(string(body))
	return 0
}
