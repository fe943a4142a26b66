// go_json round-trips registry messages through Go's encoding/json, the way the Go
// original (PhysarumSM service-registry) encodes and decodes them.
//
// Input, one JSON object per line on stdin: {"kind": "<message type>", "data": "<JSON text>"}.
// Output, one line each: {"ok": true, "marshal": "<json.Marshal of the decoded value>"}
// or {"ok": false, "error": "..."}. Decoding is strict (unknown fields are errors), so
// "ok" means Go reads every field we send into the struct the original declares.
//
// Only the standard library: it builds offline with `go run`.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// The field lists and order of the original's message types. The order is what
// json.Marshal writes; time.Duration is an int64 number of nanoseconds.
type PerfInd struct {
	RTT time.Duration
}

type ServiceInfo struct {
	ContentHash    string
	DockerHash     string
	NetworkSoftReq PerfInd
	NetworkHardReq PerfInd
	CpuReq         int
	MemoryReq      int
}

type AddRequest struct {
	Name    string
	InfoStr string
}

type GetResponse struct {
	InfoStr  string
	LookupOk bool
}

type ListResponse struct {
	NameToInfoStr map[string]string
	LookupOk      bool
}

type memberAddRequest struct {
	MemberName    string
	MemberPeerUrl string
}

func newValue(kind string) (any, error) {
	switch kind {
	case "ServiceInfo":
		return &ServiceInfo{}, nil
	case "AddRequest":
		return &AddRequest{}, nil
	case "GetResponse":
		return &GetResponse{}, nil
	case "ListResponse":
		return &ListResponse{}, nil
	case "memberAddRequest":
		return &memberAddRequest{}, nil
	}
	return nil, fmt.Errorf("unknown kind %q", kind)
}

type input struct {
	Kind string `json:"kind"`
	Data string `json:"data"`
}

type output struct {
	Ok      bool   `json:"ok"`
	Marshal string `json:"marshal,omitempty"`
	Error   string `json:"error,omitempty"`
}

func roundTrip(in input) output {
	value, err := newValue(in.Kind)
	if err != nil {
		return output{Error: err.Error()}
	}
	decoder := json.NewDecoder(bytes.NewReader([]byte(in.Data)))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(value); err != nil {
		return output{Error: err.Error()}
	}
	if decoder.More() {
		return output{Error: "trailing data"}
	}
	encoded, err := json.Marshal(value)
	if err != nil {
		return output{Error: err.Error()}
	}
	return output{Ok: true, Marshal: string(encoded)}
}

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	writer := json.NewEncoder(os.Stdout)
	for scanner.Scan() {
		var in input
		result := output{}
		if err := json.Unmarshal(scanner.Bytes(), &in); err != nil {
			result.Error = err.Error()
		} else {
			result = roundTrip(in)
		}
		if err := writer.Encode(result); err != nil {
			os.Exit(1)
		}
	}
}
