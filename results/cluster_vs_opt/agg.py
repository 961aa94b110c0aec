# tables of results/cluster_vs_opt.md from results/cluster_vs_opt/rows.tsv
import statistics as st, collections
rows=[l.rstrip('\n').split('\t') for l in open('results/cluster_vs_opt/rows.tsv')]
d=collections.defaultdict(list)
for r in rows: d[(r[0],r[2])].append(r)
progs=[]
for r in rows:
    if r[0] not in progs: progs.append(r[0])
print('| program | k2 opt 8 s: insns (seeds 1/2/3) | median | proposals (median) | cluster before: insns | median | proposals (median) | cluster after: insns | median | proposals (median) |')
print('|---|---|---|---|---|---|---|---|---|---|')
def num(x):
    try: return float(x)
    except: return None
for p in progs:
    cells=[p]
    for k in ('opt8','before','after'):
        rs=d[(p,k)]
        ins=[r[3] for r in rs]; iv=[num(x) for x in ins if num(x) is not None]
        pv=[num(r[4]) for r in rs if num(r[4]) is not None]
        cells += ['/'.join(ins), '%g'%st.median(iv) if iv else '-', '%.3g'%st.median(pv) if pv else '-']
    print('| '+' | '.join(cells)+' |')
print()
print('| program | seed | run | insns after | proposals | load avg at start | CPU s during the search per rank (k2 opt: whole run) |')
print('|---|---|---|---|---|---|---|')
for r in rows: print('| '+' | '.join(r[:6]+[r[6].strip()])+' |')
