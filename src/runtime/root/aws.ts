// The function's own AWS credentials for SQS and Secrets Manager: the role's, as Lambda puts them
// in the environment (`npm run offline` sets dummy ones for ElasticMQ). Read when first needed, so
// a function that never calls AWS (`npm start`) needs none.
import { credentialsFrom, type AwsCredentials } from "../../adapters/aws/json-api.js";
import type { Settings } from "../settings.js";

export function functionCredentials(settings: Settings): AwsCredentials {
  return () => Promise.resolve(credentialsFrom(settings.aws.credentials));
}
