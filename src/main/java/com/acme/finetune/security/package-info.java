/**
 * Who may call the service and what they may do: API keys with scopes on every route
 * except health, info, metrics and (by default) the API documentation.
 */
@NullMarked
package com.acme.finetune.security;

import org.jspecify.annotations.NullMarked;
