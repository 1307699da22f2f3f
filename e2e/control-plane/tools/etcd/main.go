// Command etcd is the etcd server of the release k8s.io/kubernetes pins
// (build/dependencies.yaml), built from its Go module for the e2e control plane.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
