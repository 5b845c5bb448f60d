package trust

import "github.com/ikelab/ikelab/internal/jsonw"

// The AppendJSON methods write what encoding/json writes for these types,
// without its reflection: a Decision goes into the audit record of every
// certificate-authenticated IKE handshake. Each writes its fields in the
// order and with the tags of its struct; the tests compare the output with
// encoding/json's. Where encoding/json would fail (a time outside the years
// 0 to 9999), they return b unchanged.

// AppendJSON appends d's JSON encoding to b.
func (d *Decision) AppendJSON(b []byte) []byte {
	if d == nil {
		return append(b, "null"...)
	}
	o := jsonw.BeginObject(b)
	o.Bool("accepted", d.Accepted)
	o.String("reason", d.Reason)
	o.StringOmitEmpty("failure", d.Failure)
	o.Time("time", d.Time)
	o.StringOmitEmpty("subject", d.Subject)
	if c := d.cached; c != nil && c.infosJSON != nil && len(d.ChainInfo) > 0 &&
		len(d.ChainInfo) == len(c.infos) && &d.ChainInfo[0] == &c.infos[0] {
		o.Raw("chain", c.infosJSON)
	} else {
		jsonw.ArrayOmitEmpty(&o, "chain", d.ChainInfo)
	}
	jsonw.Array(&o, "checks", d.Checks)
	return o.End()
}

// AppendJSON appends c's JSON encoding to b.
func (c CertInfo) AppendJSON(b []byte) []byte {
	o := jsonw.BeginObject(b)
	o.String("subject", c.Subject)
	o.String("issuer", c.Issuer)
	o.String("serial", c.Serial)
	o.Time("not_before", c.NotBefore)
	o.Time("not_after", c.NotAfter)
	o.String("sha256", c.SHA256)
	return o.End()
}

// AppendJSON appends c's JSON encoding to b.
func (c Check) AppendJSON(b []byte) []byte {
	o := jsonw.BeginObject(b)
	o.String("name", c.Name)
	o.String("status", string(c.Status))
	o.StringOmitEmpty("subject", c.Subject)
	o.String("detail", c.Detail)
	if c.Revocation != nil {
		o.Value("revocation", c.Revocation)
	}
	return o.End()
}

// AppendJSON appends r's JSON encoding to b.
func (r *RevocationInfo) AppendJSON(b []byte) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	o := jsonw.BeginObject(b)
	o.String("status", r.Status)
	o.String("serial", r.Serial)
	o.StringOmitEmpty("method", r.Method)
	o.StringOmitEmpty("source", r.Source)
	o.TimeOmitZero("this_update", r.ThisUpdate)
	o.TimeOmitZero("next_update", r.NextUpdate)
	o.TimeOmitZero("revoked_at", r.RevokedAt)
	o.StringOmitEmpty("reason", r.Reason)
	o.StringsOmitEmpty("problems", r.Problems)
	return o.End()
}
