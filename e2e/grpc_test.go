package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// rawCodec carries messages as plain bytes: the test service needs no
// generated protobuf code.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "raw" }

func init() { encoding.RegisterCodec(rawCodec{}) }

// grpcService is pkg.Service: Echo (unary; "fail" answers INVALID_ARGUMENT
// with a message, "slow" waits for the deadline), Forbidden (unary, must
// never be reached through the proxy), Count (server streaming: as many
// messages as the request's length) and Chat (bidirectional echo).
var grpcService = grpc.ServiceDesc{
	ServiceName: "pkg.Service",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Echo", Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var in []byte
			if err := dec(&in); err != nil {
				return nil, err
			}
			grpc.SetTrailer(ctx, metadata.Pairs("x-trailer", "t-"+string(in)))
			switch string(in) {
			case "fail":
				return nil, status.Error(codes.InvalidArgument, "bad input: fail")
			case "slow":
				// Not ended by its own deadline: the server answering then
				// raced the client's timer, and an answer that won came back
				// as whatever the server sent. The client's deadline is
				// the one under test.
				time.Sleep(2 * time.Second)
				return nil, status.Error(codes.DeadlineExceeded, "too slow")
			}
			out := append([]byte("echo:"), in...)
			return &out, nil
		}},
		{MethodName: "Forbidden", Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			out := []byte("reached")
			return &out, nil
		}},
	},
	Streams: []grpc.StreamDesc{
		{StreamName: "Count", ServerStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
			var in []byte
			if err := st.RecvMsg(&in); err != nil {
				return err
			}
			for i := range len(in) {
				m := []byte(fmt.Sprint(i))
				if err := st.SendMsg(&m); err != nil {
					return err
				}
			}
			return nil
		}},
		{StreamName: "Chat", ServerStreams: true, ClientStreams: true, Handler: func(_ any, st grpc.ServerStream) error {
			for {
				var in []byte
				err := st.RecvMsg(&in)
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
				out := append([]byte("re:"), in...)
				if err := st.SendMsg(&out); err != nil {
					return err
				}
			}
		}},
	},
}

func startGRPCServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	s.RegisterService(&grpcService, struct{}{})
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return l.Addr().(*net.TCPAddr).Port
}

// TestGRPCThroughProxy: unary, server streaming and bidirectional calls
// through the proxy with HTTP/2 on both sides, over an h2c bind and a TLS
// bind; grpc-status, grpc-message and trailers cross, a deadline ends a
// call, and an http-request rule on the :path denies a method.
func TestGRPCThroughProxy(t *testing.T) {
	backend := startGRPCServer(t)
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	h2c, tlsPort := freePort(t), freePort(t)
	startProxy(t, defaultsSection("http", "5s", "10s", "10s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    bind 127.0.0.1:%d ssl crt %s alpn h2
    http-request deny if { path_beg /pkg.Service/Forbidden }
    # The server would reset the call at its own copy of the deadline,
    # racing the client's timer (a 502 when it wins): the client's
    # deadline is the one under test.
    http-request del-header grpc-timeout
    default_backend be
backend be
    server s1 127.0.0.1:%d proto h2
`, h2c, tlsPort, crt, backend), h2c, tlsPort)
	for _, c := range []struct {
		name  string
		port  int
		creds credentials.TransportCredentials
	}{
		{"h2c", h2c, insecure.NewCredentials()},
		{"tls", tlsPort, credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", c.port), grpc.WithTransportCredentials(c.creds),
				grpc.WithDefaultCallOptions(grpc.CallContentSubtype("raw")))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()

			in, out := []byte("hi"), []byte(nil)
			var trailer metadata.MD
			if err := conn.Invoke(ctx, "/pkg.Service/Echo", &in, &out, grpc.Trailer(&trailer)); err != nil || string(out) != "echo:hi" {
				t.Errorf("Echo: %v %q", err, out)
			}
			if got := trailer.Get("x-trailer"); len(got) != 1 || got[0] != "t-hi" {
				t.Errorf("Echo trailers: %v", trailer)
			}

			in = []byte("fail")
			err = conn.Invoke(ctx, "/pkg.Service/Echo", &in, &out)
			if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || st.Message() != "bad input: fail" {
				t.Errorf("Echo(fail): %v, want InvalidArgument with its message", err)
			}

			in = []byte("slow")
			short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
			err = conn.Invoke(short, "/pkg.Service/Echo", &in, &out)
			cancelShort()
			if status.Code(err) != codes.DeadlineExceeded {
				t.Errorf("Echo(slow) with a 300 ms deadline: %v", err)
			}

			in = []byte("x")
			err = conn.Invoke(ctx, "/pkg.Service/Forbidden", &in, &out)
			if status.Code(err) != codes.PermissionDenied {
				t.Errorf("Forbidden: %v (reply %q), want PermissionDenied (HTTP 403 from the deny rule)", err, out)
			}

			st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, "/pkg.Service/Count")
			if err != nil {
				t.Fatal(err)
			}
			in = []byte("12345")
			st.SendMsg(&in)
			st.CloseSend()
			var got []string
			for {
				var m []byte
				if err := st.RecvMsg(&m); err != nil {
					if !errors.Is(err, io.EOF) {
						t.Errorf("Count: %v", err)
					}
					break
				}
				got = append(got, string(m))
			}
			if fmt.Sprint(got) != "[0 1 2 3 4]" {
				t.Errorf("Count streamed %v", got)
			}

			chat, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}, "/pkg.Service/Chat")
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"a", "bb", "ccc"} {
				m := []byte(w)
				if err := chat.SendMsg(&m); err != nil {
					t.Fatal(err)
				}
				var r []byte
				if err := chat.RecvMsg(&r); err != nil || string(r) != "re:"+w {
					t.Errorf("Chat %q: %v %q", w, err, r)
				}
			}
			chat.CloseSend()
			var r []byte
			if err := chat.RecvMsg(&r); !errors.Is(err, io.EOF) {
				t.Errorf("Chat end: %v", err)
			}
		})
	}
}
