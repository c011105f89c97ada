// certCovers (tls.ts): whether the agent's saved certificate still lists the address it registers
// (else its endpoint would serve a certificate the server refuses, and a new one is requested).
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { test } from "node:test";
import { KeyAlgorithm } from "../api/tls.ts";
import { certCovers } from "./tls.ts";

void test("a certificate covers an endpoint address when it lists its host (IPv4, IPv6, DNS)", async () => {
  const keys = await webcrypto.subtle.generateKey(KeyAlgorithm, true, ["sign", "verify"]);
  const san = new x509.SubjectAlternativeNameExtension([{ type: "ip", value: "10.0.0.5" }, { type: "ip", value: "fd00::5" }, { type: "dns", value: "node-3.example.test" }]);
  const withNames = (await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: "01", name: "CN=h-1", keys, signingAlgorithm: KeyAlgorithm, extensions: [san] })).toString("pem");
  const bare = (await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: "02", name: "CN=h-1", keys, signingAlgorithm: KeyAlgorithm })).toString("pem");
  const cases: { name: string; pem: string; address: string; want: boolean }[] = [
    { name: "its IPv4 address", pem: withNames, address: "10.0.0.5:7071", want: true },
    { name: "its IPv6 address", pem: withNames, address: "[fd00::5]:7071", want: true },
    { name: "its DNS name", pem: withNames, address: "node-3.example.test:7071", want: true },
    { name: "the agent moved", pem: withNames, address: "10.0.0.6:7071", want: false },
    { name: "a certificate from before serving (no names)", pem: bare, address: "10.0.0.5:7071", want: false },
    { name: "not host:port", pem: withNames, address: "10.0.0.5", want: false },
  ];
  for (const c of cases) assert.equal(certCovers(c.pem, c.address), c.want, c.name);
});
