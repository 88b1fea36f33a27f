"""The national platform's outpatient interface (国家医保 定点医药机构接口) as use cases: the visit
and its fee lines, settling a charge batch, cancelling, reversing a message, queries and
reconciliation. The transport and the message formats are ``gongji.api.nhsa``; docs/nhsa.md maps
every field."""
