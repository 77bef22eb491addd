"""Credit commitments (信用承诺): templates, signing, department requests, fulfilment and breach,
deadlines with reminders, and the eligibility check for the commitment route."""
