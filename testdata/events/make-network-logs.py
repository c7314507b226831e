#!/usr/bin/env python3
# Run by hand (python3 testdata/events/make-network-logs.py) after rules/ changes; needs PyYAML.
# Builds testdata/events/network-logs.jsonl: for each dns, firewall and proxy rule, a log event
# holding one value the report flags for detection, and a near miss. Which rules an event must
# fire is worked out here from the rules' value lists, by the taxonomy fields' own semantics.
import json, glob, os, re, yaml
root=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
rules={}
for f in sorted(glob.glob(root+'/rules/sigma/*/*.yml')):
    name=os.path.relpath(f, root+'/rules/sigma')[:-4]
    if not re.search(r'/(net_dns|net_firewall|proxy)_', name): continue
    rules[name]=yaml.safe_load(open(f))
def values(rule, field):
    out=[]
    for k,sel in rule['detection'].items():
        if k=='condition': continue
        if field in sel:
            v=sel[field]; out += v if isinstance(v,list) else [v]
    return out
def endpoints(rule):
    return [(sel['dst_ip'], sel['dst_port']) for k,sel in rule['detection'].items() if k.startswith('selection_endpoint_')]
def fires(event):
    out=[]
    for name,r in rules.items():
        cat=r['logsource']['category']
        hit=False
        if cat=='dns' and 'query' in event:
            q=event['query'].lower()
            hit = q in [x.lower() for x in values(r,'query')] or any(q.endswith(x.lower()) for x in values(r,'query|endswith'))
        if cat=='firewall' and 'dst_ip' in event:
            hit = (event['dst_ip'], event.get('dst_port')) in endpoints(r) or event['dst_ip'] in values(r,'dst_ip')
        if cat=='proxy':
            if 'c-uri' in event: hit = event['c-uri'].lower() in [x.lower() for x in values(r,'c-uri')]
            if 'cs-host' in event:
                h=event['cs-host'].lower()
                hit = hit or h in [x.lower() for x in values(r,'cs-host')] or any(h.endswith(x.lower()) for x in values(r,'cs-host|endswith'))
        if hit: out.append(name)
    return sorted(out)
# where a value comes from: the report file and the JSON path (or markdown line) stating it
sources={}
for f in glob.glob(root+'/testdata/reports/misp/*.json')+glob.glob(root+'/testdata/reports/*.md'):
    sources[f]=open(f).read()
def origin(value):
    for f,text in sorted(sources.items()):
        rel=os.path.relpath(f, root)
        if f.endswith('.md'):
            for i,l in enumerate(text.splitlines(),1):
                if value in l: return f'{rel}:{i}'
            continue
        def walk(o, path):
            if isinstance(o, dict):
                if isinstance(o.get('value'), str) and value in o['value'].split('|') and o.get('to_ids') in (True,'1',1):
                    return path
                for k,v in o.items():
                    r=walk(v, f'{path}.{k}' if path else k)
                    if r: return r
            elif isinstance(o, list):
                for i,v in enumerate(o):
                    r=walk(v, f'{path}[{i}]')
                    if r: return r
        p=walk(json.loads(text), '')
        if p: return f'{rel} {p}'
    return 'no source found'
lines=[]
def add(why, event):
    lines.append(json.dumps({"why": why, "format": "flat", "fires": fires(event), "event": event}, ensure_ascii=False))
for name,r in rules.items():
    cat=r['logsource']['category']
    if cat=='dns':
        d=values(r,'query')[0]
        add(f'DNS log: a query for {d} ({origin(d)})', {"query": d, "record_type": "A", "src_ip": "192.0.2.10"})
        add(f'DNS log: a query for a subdomain of {d}', {"query": "cdn." + d, "record_type": "AAAA", "src_ip": "192.0.2.10"})
        add(f'DNS log: a look-alike of {d} (near miss)', {"query": "x" + d, "record_type": "A", "src_ip": "192.0.2.10"})
    if cat=='firewall':
        eps=endpoints(r)
        if eps:
            ip,port=eps[0]
            add(f'firewall log: a connection to {ip} port {port} ({origin(ip)})', {"src_ip": "192.0.2.10", "src_port": 49711, "dst_ip": ip, "dst_port": port, "action": "allow"})
            if not values(r,'dst_ip'):
                add(f'firewall log: {ip} on another port (near miss)', {"src_ip": "192.0.2.10", "src_port": 49712, "dst_ip": ip, "dst_port": 443 if port != 443 else 8443, "action": "allow"})
        else:
            ip=values(r,'dst_ip')[0]
            add(f'firewall log: a connection to {ip} ({origin(ip)})', {"src_ip": "192.0.2.10", "src_port": 49711, "dst_ip": ip, "dst_port": 443, "action": "allow"})
    if cat=='proxy':
        urls=values(r,'c-uri')
        if urls:
            u=urls[0]
            add(f'proxy log: a request for {u} ({origin(u)})', {"c-uri": u, "cs-method": "GET", "sc-status": 200, "src_ip": "192.0.2.10"})
            add(f'proxy log: another path on the host of {u} (near miss)', {"c-uri": u.rstrip('/') + "/x/other", "cs-method": "GET", "sc-status": 404, "src_ip": "192.0.2.10"})
        hosts=values(r,'cs-host')
        if hosts:
            h=hosts[0]
            add(f'proxy log: a request to host {h} ({origin(h)})', {"cs-host": h, "c-uri": "/index.php", "cs-method": "POST", "sc-status": 200, "src_ip": "192.0.2.10"})
open(root+'/testdata/events/network-logs.jsonl','w').write("\n".join(lines)+"\n")
print(len(lines), "events")
