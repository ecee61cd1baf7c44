#!/usr/bin/env python3
# Builds corridors.geojson: the two demo corridors as continuous LineStrings
# along roads.geojson (shortest path over its vertices; fragment ends joined
# to vertices within 300 m). Run by hand from the repository root:
#   python3 crates/truce/assets/demo/corridors.py 300 > crates/truce/assets/demo/corridors.geojson
import json, heapq, math, sys
d=json.load(open('crates/truce/assets/demo/roads.geojson'))
def key(c): return (round(c[0],5), round(c[1],5))
adj={}
def dist(a,b):
    la=math.radians((a[1]+b[1])/2)
    return math.hypot((a[0]-b[0])*math.cos(la),a[1]-b[1])*111320
for f in d['features']:
    cs=f['geometry']['coordinates']
    for a,b in zip(cs,cs[1:]):
        ka,kb=key(a),key(b)
        w=dist(ka,kb)
        adj.setdefault(ka,[]).append((kb,w)); adj.setdefault(kb,[]).append((ka,w))
nodes=list(adj)
# Fragments of the extract do not always share vertices: join each
# fragment end to vertices within TOL metres (a straight connector).
TOL=float(sys.argv[1]) if len(sys.argv)>1 else 150
grid={}
for n in nodes: grid.setdefault((int(n[0]*200),int(n[1]*200)),[]).append(n)
ends=set()
for f in d['features']:
    cs=f['geometry']['coordinates']; ends.add(key(cs[0])); ends.add(key(cs[-1]))
links=0
for e in ends:
    gx,gy=int(e[0]*200),int(e[1]*200)
    for dx in (-1,0,1):
        for dy in (-1,0,1):
            for n in grid.get((gx+dx,gy+dy),[]):
                if n!=e:
                    w=dist(n,e)
                    if w<=TOL: adj[e].append((n,w)); adj[n].append((e,w)); links+=1
print('links',links,file=sys.stderr)
def nearest(p): return min(nodes,key=lambda n: dist(n,p))
def route(pts):
    path=[]
    for s,t in zip(pts,pts[1:]):
        s,t=nearest(s),nearest(t)
        D={s:0};P={};q=[(0,s)]
        while q:
            dd,u=heapq.heappop(q)
            if u==t: break
            if dd>D[u]: continue
            for v,w in adj[u]:
                if dd+w<D.get(v,1e18): D[v]=dd+w;P[v]=u;heapq.heappush(q,(dd+w,v))
        if t not in D: print("no path",s,t,file=sys.stderr); return None
        seg=[t]
        while seg[-1]!=s: seg.append(P[seg[-1]])
        seg.reverse()
        if path: seg=seg[1:]
        path+=seg
    return path
places={'Goris':(46.339,39.507),'Lachin':(46.546,39.638),'Shusha':(46.748,39.758),'Khankendi':(46.752,39.815),'Aghdam':(46.931,39.993),'Barda':(47.124,40.374),'Askeran':(46.835,39.936)}
out=[]
for name,via in [("Lachin corridor: Goris - Lachin - Khankendi",['Goris','Lachin','Khankendi']),("Aghdam road: Aghdam - Askeran - Khankendi",['Aghdam','Askeran','Khankendi'])]:
    r=route([places[v] for v in via])
    if r is None: continue
    L=sum(dist(a,b) for a,b in zip(r,r[1:]))
    print(name,len(r),round(L/1000,1),'km',file=sys.stderr)
    out.append({"type":"Feature","properties":{"name":name,"via":via,"length_km":round(L/1000,1)},"geometry":{"type":"LineString","coordinates":[list(c) for c in r]}})
for f in out:
    f["geometry"]["coordinates"]=[[round(x,5),round(y,5)] for x,y in f["geometry"]["coordinates"]]
json.dump({"type":"FeatureCollection","features":out},sys.stdout,separators=(',',':'))
