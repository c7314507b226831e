package source_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func newStaticServer(t testing.TB, dir string) *httptest.Server {
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return srv
}
