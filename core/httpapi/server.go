package httpapi

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/curtainhq/curtain/core"
)

// Timeouts bound each connection of the API server (http.*_timeout).
type Timeouts struct {
	// ReadHeader bounds reading a request's header.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included: a body sent
	// slowly is cut off.
	Read time.Duration
	// Write bounds writing an answer, from the end of its request's
	// header; streamed lists extend it per write (Options.WriteTimeout).
	Write time.Duration
	// Idle bounds the wait for the next request on a kept-alive
	// connection.
	Idle time.Duration
	// Store bounds each store call a request makes (core.WithStoreTimeout;
	// store.query_timeout): a store that does not answer within it
	// answers 503. Zero: no bound.
	Store time.Duration
}

// Default server timeouts.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 30 * time.Second, Idle: 2 * time.Minute, Store: 5 * time.Second}

// NewServer returns the http.Server that serves h with the timeouts t.
// Served on a listener of Listen, its own answers to requests it cannot
// read are JSON errors; its ConnContext and ConnState hooks tell those
// answers from h's, so keep them when adding others.
func NewServer(h http.Handler, t Timeouts) *http.Server {
	base := core.WithStoreTimeout(context.Background(), t.Store)
	return &http.Server{
		Handler:           markAnswering(h),
		ConnContext:       withConn,
		ConnState:         connIdle,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		// Every request's context derives from base.
		BaseContext: func(net.Listener) context.Context { return base },
	}
}
