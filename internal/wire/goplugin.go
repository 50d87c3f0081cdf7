//go:build !wasip1

// The go-plugin glue both sides of the subprocess transport share: the
// handshake, and the plugin set entry that serves or dials the Provider
// service generated from wit/idplug.proto (`make proto`).

package wire

import (
	"context"
	"fmt"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/idplug/idplug/sdk"
)

// PluginName is the key of the Provider service in go-plugin's plugin set.
const PluginName = "provider"

// Handshake is the go-plugin handshake of contract version
// sdk.ContractVersion: go-plugin's app protocol version is the contract
// version, so a host and a plugin of different versions part ways at the
// handshake, before any call.
func Handshake() goplugin.HandshakeConfig {
	return goplugin.HandshakeConfig{
		ProtocolVersion:  sdk.ContractVersion,
		MagicCookieKey:   "IDPLUG_PLUGIN",
		MagicCookieValue: "idplug.provider.v1",
	}
}

// Handler runs a contract function over its JSON input document and returns
// the JSON result envelope.
type Handler func(fn Function, input []byte) []byte

// GRPCPlugin is the plugin set entry of the Provider service: a plugin serves
// Handle with it, and the host dispenses a ProviderClient from it.
type GRPCPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	// Handle serves the calls on the plugin side; the host leaves it nil.
	Handle Handler
}

// GRPCServer implements goplugin.GRPCPlugin: it registers the Provider
// service over Handle.
func (p *GRPCPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	RegisterProviderServer(s, server{handle: p.Handle})
	return nil
}

// GRPCClient implements goplugin.GRPCPlugin: it returns a ProviderClient.
func (*GRPCPlugin) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return NewProviderClient(c), nil
}

// server maps each method to the function of the same name.
type server struct {
	UnimplementedProviderServer
	handle Handler
}

func (s server) call(fn Function, in *Document) (*Envelope, error) {
	return &Envelope{Json: s.handle(fn, in.GetJson())}, nil
}

func (s server) Describe(_ context.Context, in *Document) (*Envelope, error) {
	return s.call(FuncDescribe, in)
}

func (s server) Configure(_ context.Context, in *Document) (*Envelope, error) {
	return s.call(FuncConfigure, in)
}

func (s server) Prepare(_ context.Context, in *Document) (*Envelope, error) {
	return s.call(FuncPrepare, in)
}

func (s server) Interpret(_ context.Context, in *Document) (*Envelope, error) {
	return s.call(FuncInterpret, in)
}

func (s server) Identity(_ context.Context, in *Document) (*Envelope, error) {
	return s.call(FuncIdentity, in)
}

// methods map the contract's functions to the service's methods.
var methods = map[Function]func(ProviderClient, context.Context, *Document, ...grpc.CallOption) (*Envelope, error){
	FuncDescribe:  ProviderClient.Describe,
	FuncConfigure: ProviderClient.Configure,
	FuncPrepare:   ProviderClient.Prepare,
	FuncInterpret: ProviderClient.Interpret,
	FuncIdentity:  ProviderClient.Identity,
}

// CallGRPC runs fn over input through c and returns the result envelope.
func CallGRPC(ctx context.Context, c ProviderClient, fn Function, input []byte, opts ...grpc.CallOption) ([]byte, error) {
	method, ok := methods[fn]
	if !ok {
		return nil, fmt.Errorf("%q is not a function of the contract", fn)
	}
	out, err := method(c, ctx, &Document{Json: input}, opts...)
	if err != nil {
		return nil, err
	}
	return out.GetJson(), nil
}
