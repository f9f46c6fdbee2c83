"""ACE profiles (RFC 9200 §5.1: how client and RS secure their exchanges and bind them to a
token). A profile is a module with a class the RS holds in `rs.profiles`; the RS core does the
rest (docs/ARCHITECTURE.md "Profiles"). What a profile provides:

    PATH                         the path of its token upload (/authz-info)
    NEW                          True when a new token comes to PATH unprotected (else
                                 another way: EDHOC-OSCORE's in EAD_3; an unprotected
                                 request to PATH is then 4.04); under a context it owns,
                                 PATH takes that context's update of access rights
    NUMBER                       its ace_profile value (RFC 9200 §5.3: the hints name the
                                 profiles offered when there are several)
    owns(entry)                  -> whether a token store Entry is one of its contexts
    parse(request, limit, entry) -> (raw token bytes, body): what the upload accepts; entry:
                                    the Entry whose context protects the request (an update
                                    of access rights) or None
    pop(token, entry)            -> the proof-of-possession key the token binds, as the token
                                    store keys entries: (issuer, key id); raises when the
                                    token's cnf is not for this profile or does not name entry
    bind(rs, token, body)        -> (OSCORE context, the upload's answer Message): the context
                                    derived for a new token, not yet stored

The RS holds the profiles board.json offers as rs.profiles (ACE-OSCORE alone by default;
app.py loads the others only where they are offered) and sequences them: parse -> verify
(access_token) -> admit (admission.py) -> pop -> scope -> bind -> store (token_store.py). A
profile that makes contexts without a token upload (edhoc_oscore.py, edhoc_resource.py's
trusted clients) stores them the same way: rs.tokens.add(..., perms, context).
"""
