"""The Bitrix24 REST protocol without I/O: encoding, envelopes, errors, batch, paging, limits, retries."""
