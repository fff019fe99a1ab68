import { complianceContract, moderationContract } from '../support/compliance-contract.js';

complianceContract('postgres');
moderationContract('postgres');
