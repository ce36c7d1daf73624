package send

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/liaison/liaison/internal/retry"
	"github.com/liaison/liaison/internal/secret"
)

// A request and its answer as an attempt records them: sent through the
// Sender by Exchange, for deliveries and API calls alike, with secrets
// removed from what was sent, the answer capped, and an error in words.

// Storage caps of an attempt. The design allows 64 KiB; 16 KiB of each body
// keeps an attempt row small at thousands of deliveries a second and is
// more than a person reads in a list of attempts.
const (
	// MaxStoredBody is what an attempt keeps of each body (a call keeps
	// more of the answer: Exchange's bodyCap).
	MaxStoredBody = 16 << 10
	// maxDrain is how much of a long answer is read (and thrown away) so
	// the connection can be reused; past it the connection is closed.
	maxDrain = 256 << 10
)

// Sender sends a request through a connection, or to a public URL when
// connectionID is "", through the outbound guard; connections.Service
// satisfies it. The answer's Request is the request last sent (after
// redirects) with its credentials removed. An error that means "not now"
// (a person must reconnect first) is a *retry.Later; one that no retry can
// fix is retry.ErrNever (errors.Is).
type Sender interface {
	Do(ctx context.Context, connectionID string, req *http.Request) (*http.Response, error)
}

// Outgoing is one request to send.
type Outgoing struct {
	ConnectionID string
	Method, URL  string
	Header       http.Header
	Body         []byte
	Timeout      time.Duration
}

// Exchanged is one request made and answered (or not): what the attempt
// records, the error Classify judges, and the answer's Retry-After.
type Exchanged struct {
	Attempt    Attempt
	Err        error
	RetryAfter string
	// Later is set when the sender said "not now" (a *retry.Later: the
	// connection needs a person to reconnect it, or is paused) and nothing
	// was sent: that is no attempt, and the work waits (Waiting says why).
	Later error
}

// Exchange is the request executor that deliveries and API calls share:
// it sends out (unless preparing it already failed with prepErr, which
// is retry.ErrNever) and records the request and its answer as attempt
// number, keeping at most bodyCap bytes of the answer. A refusal before
// sending (a host outside the connection's, a blocked address) is
// retry.ErrNever, so Classify fails it without a retry.
func Exchange(ctx context.Context, sender Sender, out Outgoing, prepErr error, number int, now time.Time, bodyCap int) Exchanged {
	x := Exchanged{Attempt: Attempt{Number: number, StartedAt: now, Method: out.Method, URL: out.URL,
		RequestHeaders: RedactHeaders(out.Header), RequestBody: Excerpt(out.Body), ResponseHeaders: map[string]string{}}}
	if prepErr != nil {
		x.Err = prepErr
		x.Attempt.Error = prepErr.Error()
	} else if retryAfter, err := Send(ctx, sender, out, &x.Attempt, bodyCap); err != nil {
		if _, ok := errors.AsType[*retry.Later](err); ok {
			x.Later = err
			return x
		}
		x.Err = err
		x.Attempt.Error = PlainError(err, out.Timeout)
	} else {
		x.RetryAfter = retryAfter
	}
	x.Attempt.DurationMS = float64(time.Since(now).Microseconds()) / 1000
	return x
}

// Waiting says, in words for people, why work that the sender answered
// with later (Exchanged.Later) waits: "waiting: " and the sender's reason
// ("connection X is paused", "connection X needs to be reconnected: …").
func Waiting(later error) string {
	if l, ok := errors.AsType[*retry.Later](later); ok && l.Reason != "" {
		return "waiting: " + l.Reason
	}
	return "waiting: " + later.Error()
}

// Send makes the request through sender and records its answer in a,
// keeping at most bodyCap bytes of the answer's body.
func Send(ctx context.Context, sender Sender, out Outgoing, a *Attempt, bodyCap int) (retryAfter string, _ error) {
	ctx, cancel := context.WithTimeout(ctx, out.Timeout)
	defer cancel()
	var body io.Reader
	if out.Body != nil {
		body = bytes.NewReader(out.Body)
	}
	req, err := http.NewRequestWithContext(ctx, out.Method, out.URL, body)
	if err != nil {
		return "", retry.Never(fmt.Errorf("building the request: %w", err))
	}
	req.Header = out.Header
	resp, err := sender.Do(ctx, out.ConnectionID, req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.Request != nil && resp.Request.URL != nil {
		// What was asked for may be a path relative to the connection's
		// base URL, or redirected: the attempt shows where it went. Sender
		// hands back the request with its credentials removed.
		a.URL = resp.Request.URL.String()
	}
	a.Status = resp.StatusCode
	a.ResponseHeaders = answerHeaders(resp.Header)
	buf := make([]byte, 0, 512)
	lr := io.LimitReader(resp.Body, int64(bodyCap)+1)
	var cut error
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, rerr := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr != nil {
			if rerr != io.EOF {
				cut = rerr
			}
			break
		}
	}
	if len(buf) > bodyCap {
		buf, a.Truncated = buf[:bodyCap], true
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	}
	if cut != nil {
		// The answer's status stands; the body is kept as far as it came,
		// and the error says it was cut, not that no answer came.
		a.Truncated = true
		a.Error = bodyCutError(cut, out.Timeout, len(buf))
	}
	a.ResponseBody = storedText(buf)
	return resp.Header.Get("Retry-After"), nil
}

// Excerpt is what an attempt keeps of a request's body.
func Excerpt(b []byte) string {
	if len(b) > MaxStoredBody {
		b = b[:MaxStoredBody]
	}
	return storedText(b)
}

// storedText is a body as an attempt keeps it: text, with what is not
// UTF-8 and U+0000 (which PostgreSQL's text cannot hold: the attempt
// could not be recorded, and the delivery would be sent again and again)
// shown as U+FFFD.
func storedText(b []byte) string {
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "\uFFFD")
}

// RedactHeaders flattens a request's headers for its attempt by the rule
// that masks headers in answers: a value is kept only when its name is one
// of secret.PlainHeaders or of the headers Liaison writes itself
// (liaisonHeaders); every other value, given to a hook or a call, is
// "[removed]". (A connection's fixed headers and credentials are added by
// the Sender and never reach the attempt.)
func RedactHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if !secret.PlainHeader(k) && !slices.Contains(liaisonHeaders, http.CanonicalHeaderKey(k)) {
			v = "[removed]"
		}
		out[k] = v
	}
	return out
}

// liaisonHeaders are the headers Liaison itself writes on a request that
// carry no secret: the delivery id, the Standard Webhooks headers (the
// signature proves one body, and its secret stays sealed).
var liaisonHeaders = []string{"Idempotency-Key", "Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}

// answerHeaders flattens an answer's headers for its attempt. They are the
// other service's, and an API call's caller may need them (Location,
// Retry-After, rate-limit counts), so they are kept, but for those whose
// name says they carry a credential.
func answerHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if credentialHeader(k) {
			v = "[removed]"
		}
		out[k] = v
	}
	return out
}

// credentialHeader reports whether a header's name says it carries a
// credential: the usual ones, and any that says key, token, secret,
// password, session or auth.
func credentialHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie", "set-cookie", "x-amz-security-token":
		return true
	}
	for _, w := range []string{"key", "token", "secret", "password", "session", "auth"} {
		if strings.Contains(n, w) && n != "idempotency-key" {
			return true
		}
	}
	return false
}

// bodyCutError says that an answer's body stopped coming: at the timeout
// (a receiver that sends its status, then trickles the body), or for
// another reason, with what was kept.
func bodyCutError(err error, timeout time.Duration, kept int) string {
	if isTimeout(err) {
		return fmt.Sprintf("the answer's body was cut off after %s (timeout); %d bytes kept", timeout, kept)
	}
	return fmt.Sprintf("the answer's body was cut off: %s; %d bytes kept", PlainError(err, timeout), kept)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// PlainError says what went wrong with a request in words a person reads.
func PlainError(err error, timeout time.Duration) string {
	var (
		dnse *net.DNSError
		oe   *net.OpError
	)
	switch {
	case isTimeout(err):
		return fmt.Sprintf("no answer within %s (timeout)", timeout)
	case errors.As(err, &dnse):
		return fmt.Sprintf("the host name %s could not be resolved", dnse.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the connection was refused: nothing listens at that address"
	case errors.As(err, &oe) && oe.Op == "dial":
		return "could not connect: " + oe.Err.Error()
	}
	msg := err.Error()
	var ue *url.Error
	if errors.As(err, &ue) {
		msg = ue.Op + " " + ue.URL + ": " + ue.Err.Error()
	}
	return msg
}
