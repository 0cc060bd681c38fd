/**
 * Lets an express 4 app serve HTTP/2 requests (node:http2 compatibility API). Express makes every request and
 * response inherit from its own prototypes, which inherit from http.IncomingMessage/ServerResponse; for HTTP/2 they
 * must inherit from Http2ServerRequest/Response instead, or the compat getters (headers, method, url) vanish.
 * HTTP/2 matters for throughput: many streams share one TLS connection (kubectl negotiates it through ALPN).
 */
import express, { type Express } from 'express';
import * as http2 from 'node:http2';

const rebase = (methods: object, base: object, app: Express): object =>
  Object.create(Object.create(base, Object.getOwnPropertyDescriptors(methods)), {
    app: { configurable: true, enumerable: true, writable: true, value: app },
  });

/** Makes `app` handle HTTP/2 compat requests only (build a separate app for HTTP/1.1). */
export const adaptForHttp2 = (app: Express): Express => {
  app.request = rebase(express.request, http2.Http2ServerRequest.prototype, app) as Express['request'];
  app.response = rebase(express.response, http2.Http2ServerResponse.prototype, app) as Express['response'];
  return app;
};
