import { complianceContract } from '../support/compliance-contract.js';

complianceContract('sqlite');
