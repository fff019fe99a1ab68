import { complianceContract, moderationContract } from '../support/compliance-contract.js';

complianceContract('sqlite');
moderationContract('sqlite');
