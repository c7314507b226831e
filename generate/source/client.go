// Package source pulls threat intelligence from where it lives into a reports directory that
// generate reads: MISP feeds over HTTP and MISP instances through their REST API. It only
// fetches and mirrors; it never renders, so that generate stays a function of files.
package source

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults of the client options.
const (
	DefaultTimeout  = 60 * time.Second
	DefaultMaxBytes = 256 << 20
	DefaultAttempts = 4
	DefaultBackoff  = time.Second
)

// ClientOptions configure how a source is reached.
type ClientOptions struct {
	Timeout  time.Duration // per request; 0 means DefaultTimeout
	MaxBytes int64         // largest response body; 0 means DefaultMaxBytes
	CAFile   string        // PEM certificates trusted besides the system's; "" for none
	// Attempts is how many times a request is tried when the server is busy or failing (429,
	// 5xx) or the connection fails; 0 means DefaultAttempts. Backoff is the first wait between
	// attempts, doubled each time; 0 means DefaultBackoff.
	Attempts int
	Backoff  time.Duration
	// Header is sent with every request to the source's own host and to no other: the
	// Authorization of a MISP key, for one. Its values never appear in messages.
	Header http.Header
}

// client fetches from one source with bounded retries, size limits and secrets kept to the
// source's host.
type client struct {
	http     *http.Client
	opts     ClientOptions
	host     string // the source's host: Header goes there only
	secrets  []string
	requests atomic.Int64
}

func newClient(base *url.URL, opts ClientOptions) (*client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Attempts <= 0 {
		opts.Attempts = DefaultAttempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if opts.CAFile != "" {
		pool, err := caPool(opts.CAFile)
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	c := &client{opts: opts, host: base.Host}
	for _, values := range opts.Header {
		c.secrets = append(c.secrets, values...)
	}
	c.http = &http.Client{
		Transport: transport,
		Timeout:   opts.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("more than 5 redirects")
			}
			if req.URL.Host != c.host || req.URL.Scheme != via[0].URL.Scheme {
				for name := range opts.Header {
					req.Header.Del(name) // a key is for its own server only
				}
			}
			return nil
		},
	}
	return c, nil
}

func caPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// response is a fetched body with what the caller needs of its headers.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errAbort marks failures that retrying cannot mend.
type errAbort struct{ err error }

func (e errAbort) Error() string { return e.err.Error() }
func (e errAbort) Unwrap() error { return e.err }

// do sends a request (GET without body, POST with it) and returns a 2xx or 304 response,
// trying again with backoff while the server is busy or failing or the connection breaks.
func (c *client) do(ctx context.Context, method, u string, body []byte, header http.Header) (*response, error) {
	var last error
	wait := c.opts.Backoff
	for attempt := 1; attempt <= c.opts.Attempts; attempt++ {
		resp, retryAfter, err := c.once(ctx, method, u, body, header)
		if err == nil {
			return resp, nil
		}
		var abort errAbort
		if errors.As(err, &abort) || ctx.Err() != nil {
			return nil, c.hide(err)
		}
		last = err
		if attempt == c.opts.Attempts {
			break
		}
		pause := max(wait, min(retryAfter, time.Minute))
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait *= 2
	}
	return nil, c.hide(fmt.Errorf("%w (after %d attempts)", last, c.opts.Attempts))
}

func (c *client) once(ctx context.Context, method, u string, body []byte, header http.Header) (*response, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, 0, errAbort{fmt.Errorf("%s: %w", redact(u), err)}
	}
	req.Header.Set("User-Agent", "rulegen")
	for name, values := range header {
		req.Header[name] = values
	}
	for name, values := range c.opts.Header {
		req.Header[name] = values
	}
	c.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%s %s: %w", method, redact(u), unwrapURLError(err))
	}
	defer resp.Body.Close()
	where := method + " " + redact(resp.Request.URL.String())
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests || s >= 500:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, retryAfter(resp.Header), fmt.Errorf("%s: %s", where, resp.Status)
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return nil, 0, errAbort{fmt.Errorf("%s: %s: %w", where, resp.Status, ErrRefused)}
	case s == http.StatusNotModified:
		return &response{status: s, header: resp.Header}, 0, nil
	case s < 200 || s > 299:
		return nil, 0, errAbort{fmt.Errorf("%s: %s", where, resp.Status)}
	}
	if resp.ContentLength > c.opts.MaxBytes {
		return nil, 0, errAbort{fmt.Errorf("%s: %d bytes, more than the limit of %d (--max-bytes)", where, resp.ContentLength, c.opts.MaxBytes)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%s: the body broke off after %d bytes: %w", where, len(data), err)
	}
	if int64(len(data)) > c.opts.MaxBytes {
		return nil, 0, errAbort{fmt.Errorf("%s: more than the limit of %d bytes (--max-bytes)", where, c.opts.MaxBytes)}
	}
	if isHTML(resp.Header, data) {
		return nil, 0, errAbort{fmt.Errorf("%s: an HTML page (a login page or a proxy's?), not JSON", where)}
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, 0, nil
}

// ErrRefused is a 401 or 403: the server does not accept the credentials (or their absence).
var ErrRefused = errors.New("access refused")

func isHTML(h http.Header, body []byte) bool {
	if mt, _, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
		return true
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n\ufeff")
	return len(trimmed) > 0 && trimmed[0] == '<'
}

func retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After"))); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// unwrapURLError drops url.Error's own copy of the URL: messages name it once, redacted.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("timed out (--timeout): %w", ue.Err)
		}
		return ue.Err
	}
	return err
}

// redact hides a password in a URL's user information.
func redact(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return u
	}
	return parsed.Redacted()
}

// hide removes the secrets from a message, whatever a server or a library put into it.
func (c *client) hide(err error) error {
	msg := err.Error()
	leaked := false
	for _, s := range c.secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "<hidden>")
			leaked = true
		}
	}
	if !leaked {
		return err
	}
	return hiddenError{msg: msg, err: err}
}

type hiddenError struct {
	msg string
	err error
}

func (e hiddenError) Error() string { return e.msg }

// Is lets errors.Is see the sentinel errors through, never the wrapped text.
func (e hiddenError) Is(target error) bool { return errors.Is(e.err, target) }
