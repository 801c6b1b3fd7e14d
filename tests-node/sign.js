#!/usr/bin/env node
// Cross-check helper for AgentLocator.Tests: signs and validates Twilio requests with the official
// `twilio` helper library, so the C# signature check (the SDK's RequestValidator behind
// TwilioSignatureValidator) and the C# signer can be compared with it.
//
// Usage: node sign.js <cases.json>
// Input:  { "authToken": "...", "cases": [ {
//             "url": "the URL the request was made to", "params": [["Name","value"], ...], "body": null | "raw JSON body",
//             "signings": [ { "url": "URL to sign", "params": null | [["Name","value"], ...], "token": null | "other token",
//                             "body": null | "body to validate instead of the case's" } ] } ] }
//          A signing's null params/token/body mean the case's own.
// Output (stdout): { "twilioVersion": "x.y.z", "results": [ { "signatures": ["..."], "valid": [true, ...] } ] }
"use strict";

const fs = require("fs");
const twilio = require("twilio");
const { getExpectedTwilioSignature, validateRequest, validateRequestWithBody } = twilio;

function toParamsObject(pairs) {
  const params = {};
  for (const [name, value] of pairs) {
    if (Object.prototype.hasOwnProperty.call(params, name)) {
      params[name] = [].concat(params[name], value);
    } else {
      params[name] = value;
    }
  }
  return params;
}

function main() {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: node sign.js <cases.json>");
    process.exit(2);
  }

  const input = JSON.parse(fs.readFileSync(file, "utf8"));
  const token = input.authToken;
  const results = input.cases.map((c) => {
    const hasBody = c.body !== null && c.body !== undefined;
    const params = toParamsObject(c.params || []);
    const signatures = [];
    const valid = [];
    for (const s of c.signings) {
      const signParams = hasBody ? {} : s.params ? toParamsObject(s.params) : params;
      const signature = getExpectedTwilioSignature(s.token || token, s.url, signParams);
      signatures.push(signature);
      valid.push(
        hasBody
          ? validateRequestWithBody(token, signature, c.url, s.body !== null && s.body !== undefined ? s.body : c.body)
          : validateRequest(token, signature, c.url, params),
      );
    }
    return { signatures, valid };
  });

  process.stdout.write(JSON.stringify({ twilioVersion: require("twilio/package.json").version, results }));
}

main();
