// Package pb is the gRPC service of subprocess plugins, generated from
// wit/idplug.proto (`make proto`), and the go-plugin glue both sides share:
// the handshake and the plugin set entry that serves or dials the service.
// The host uses it through internal/subprocess, a plugin through sdk.Main.
package pb

import (
	"context"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Name is the key of the Provider service in go-plugin's plugin set.
const Name = "provider"

// Handshake is the go-plugin handshake of a plugin that speaks contract
// version contract: go-plugin's app protocol version is the contract
// version, so a host and a plugin of different versions part ways at the
// handshake, before any call.
func Handshake(contract uint) goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion:  contract,
		MagicCookieKey:   "IDPLUG_PLUGIN",
		MagicCookieValue: "idplug.provider.v1",
	}
}

// Handler runs the contract function named function (describe, configure,
// …) over its JSON input document and returns the JSON result envelope.
type Handler func(function string, input []byte) []byte

// Plugin is the plugin set entry of the Provider service: a plugin serves
// Handle with it, and the host dispenses a ProviderClient from it.
type Plugin struct {
	goplugin.NetRPCUnsupportedPlugin
	// Handle serves the calls on the plugin side; the host leaves it nil.
	Handle Handler
}

// GRPCServer implements goplugin.GRPCPlugin: it registers the Provider
// service over Handle.
func (p *Plugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	RegisterProviderServer(s, server{handle: p.Handle})
	return nil
}

// GRPCClient implements goplugin.GRPCPlugin: it returns a ProviderClient.
func (*Plugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewProviderClient(c), nil
}

// server maps each method to the function of the same name.
type server struct {
	UnimplementedProviderServer
	handle Handler
}

func (s server) call(function string, in *Document) (*Envelope, error) {
	return &Envelope{Json: s.handle(function, in.GetJson())}, nil
}

func (s server) Describe(_ context.Context, in *Document) (*Envelope, error) {
	return s.call("describe", in)
}

func (s server) Configure(_ context.Context, in *Document) (*Envelope, error) {
	return s.call("configure", in)
}

func (s server) Prepare(_ context.Context, in *Document) (*Envelope, error) {
	return s.call("prepare", in)
}

func (s server) Interpret(_ context.Context, in *Document) (*Envelope, error) {
	return s.call("interpret", in)
}

func (s server) Identity(_ context.Context, in *Document) (*Envelope, error) {
	return s.call("identity", in)
}
