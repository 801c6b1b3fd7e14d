#!/usr/bin/env node
// Cross-check helper for AgentLocator.Tests: signs and validates Twilio requests with the official
// `twilio` helper library so the C# TwilioRequestValidator can be compared with it.
//
// Usage: node sign.js <cases.json>
// Input:  { "authToken": "...", "cases": [ { "url": "...", "params": [["Name","value"], ...],
//           "body": null | "raw body", "otherSignature": "signature computed elsewhere" } ] }
// Output (stdout): { "twilioVersion": "x.y.z", "results": [ { "signature": "...", "otherSignatureValid": true } ] }
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
    if (c.body !== null && c.body !== undefined) {
      return {
        signature: getExpectedTwilioSignature(token, c.url, {}),
        otherSignatureValid: validateRequestWithBody(token, c.otherSignature, c.url, c.body),
      };
    }
    const params = toParamsObject(c.params || []);
    return {
      signature: getExpectedTwilioSignature(token, c.url, params),
      otherSignatureValid: validateRequest(token, c.otherSignature, c.url, params),
    };
  });

  process.stdout.write(JSON.stringify({ twilioVersion: require("twilio/package.json").version, results }));
}

main();
