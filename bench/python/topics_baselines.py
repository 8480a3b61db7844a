"""Baselines and scores for bench/topics.ts (run by it inside bench/.venv).

Reads the JSON job that bench/topics.ts writes (corpora as whitespace-tokenized
lines, embedkit's topic word lists and assignments), runs in the same process:

- LDA: gensim LdaModel (the implementation OCTIS wraps), passes=5,
  iterations=100, symmetric alpha, random_state=seed; doc topic = argmax.
- NMF on TF-IDF: scikit-learn TfidfVectorizer (the given vocabulary, or
  min_df=2) + NMF(init="nndsvda", max_iter=400, random_state=seed).
- k-means on TF-IDF (label sets): scikit-learn KMeans(n_init=10, random_state=seed).

and scores every method with one code path:

- NPMI of each topic's top-10 words, two definitions: gensim CoherenceModel
  coherence="c_npmi" (the OCTIS metric: boolean sliding window of 10 words over
  each document, epsilon 1e-12) and plain document co-occurrence
  (P(w) = share of documents containing w).
- Topic diversity: unique words among all topics' top-25 / (25 x topics).
- NMI (arithmetic mean, = V-measure) and ARI against known labels, outliers
  (-1) counted as one more cluster.

Prints one JSON object on stdout.
"""

import json
import sys
import time
from itertools import combinations

import numpy as np
from gensim.corpora import Dictionary
from gensim.models import CoherenceModel, LdaModel
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

EPSILON = 1e-12


def read_docs(path):
    with open(path, encoding="utf-8") as handle:
        return [line.split() for line in handle.read().split("\n")[:-1]]


def lda_model(docs, dictionary, bow, topics, seed):
    return LdaModel(
        corpus=bow,
        id2word=dictionary,
        num_topics=topics,
        passes=5,
        iterations=100,
        alpha="symmetric",
        random_state=seed,
    )


def tfidf(docs, vocabulary):
    kwargs = dict(analyzer=lambda doc: doc, lowercase=False)
    if vocabulary is not None:
        kwargs["vocabulary"] = vocabulary
    else:
        kwargs["min_df"] = 2
    vectorizer = TfidfVectorizer(**kwargs)
    return vectorizer, vectorizer.fit_transform(docs)


def doc_npmi(topics, docs):
    """Mean over topics of the mean NPMI over word pairs, from document co-occurrence."""
    words = sorted({word for topic in topics for word in topic})
    index = {word: i for i, word in enumerate(words)}
    rows, cols = [], []
    for d, doc in enumerate(docs):
        for word in set(doc):
            if word in index:
                rows.append(d)
                cols.append(index[word])
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(docs), len(words)))
    together = (matrix.T @ matrix).toarray() / len(docs)
    single = np.diag(together)
    scores = []
    for topic in topics:
        pairs = []
        for a, b in combinations(topic, 2):
            i, j = index[a], index[b]
            joint = together[i, j]
            pmi = np.log((joint + EPSILON) / (single[i] * single[j]))
            pairs.append(pmi / -np.log(joint + EPSILON))
        scores.append(float(np.mean(pairs)) if pairs else 0.0)
    return scores


def diversity(topics):
    listed = [word for topic in topics for word in topic[:25]]
    return len(set(listed)) / len(listed) if listed else 0.0


def quality(job):
    docs = read_docs(job["corpus"])
    vocabulary = job.get("vocabulary")
    dictionary = Dictionary(docs)
    bow = [dictionary.doc2bow(doc) for doc in docs]
    runs = list(job["runs"])
    for seed in job["seeds"]:
        for topics in job["topicCounts"]:
            started = time.perf_counter()
            model = lda_model(docs, dictionary, bow, topics, seed)
            words = [[word for word, _ in model.show_topic(t, topn=25)] for t in range(topics)]
            runs.append({"method": "LDA (gensim)", "seed": seed, "topics": topics, "words": words,
                         "seconds": time.perf_counter() - started})
            started = time.perf_counter()
            vectorizer, matrix = tfidf(docs, vocabulary)
            feature_names = vectorizer.get_feature_names_out()
            nmf = NMF(n_components=topics, init="nndsvda", max_iter=400, random_state=seed).fit(matrix)
            words = [[str(feature_names[i]) for i in np.argsort(-row)[:25]] for row in nmf.components_]
            runs.append({"method": "NMF on TF-IDF", "seed": seed, "topics": topics, "words": words,
                         "seconds": time.perf_counter() - started})
    # One coherence pass over every topic of every run.
    all_topics = [topic[:10] for run in runs for topic in run["words"]]
    coherence = CoherenceModel(topics=all_topics, texts=docs, dictionary=dictionary, coherence="c_npmi", topn=10)
    per_topic = coherence.get_coherence_per_topic()
    per_topic_doc = doc_npmi(all_topics, docs)
    results = []
    position = 0
    for run in runs:
        count = len(run["words"])
        results.append({
            "method": run["method"], "seed": run["seed"], "topics": run["topics"], "found": count,
            "npmi": float(np.mean(per_topic[position:position + count])),
            "npmiDocument": float(np.mean(per_topic_doc[position:position + count])),
            "diversity": diversity(run["words"]),
            "seconds": run["seconds"],
        })
        position += count
    return {"set": job["set"], "documents": len(docs), "results": results}


def labels(job):
    docs = read_docs(job["docs"])
    truth = job["labels"]
    k = job["k"]
    runs = list(job["runs"])
    dictionary = Dictionary(docs)
    dictionary.filter_extremes(no_below=2, no_above=0.5, keep_n=None)
    bow = [dictionary.doc2bow(doc) for doc in docs]
    for seed in job["seeds"]:
        started = time.perf_counter()
        _, matrix = tfidf(docs, None)
        assignments = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(matrix)
        runs.append({"method": "k-means on TF-IDF", "seed": seed, "assignments": assignments.tolist(),
                     "seconds": time.perf_counter() - started})
        started = time.perf_counter()
        model = lda_model(docs, dictionary, bow, k, seed)
        assignments = []
        for doc in bow:
            weights = model.get_document_topics(doc, minimum_probability=0.0)
            assignments.append(max(weights, key=lambda pair: pair[1])[0] if weights else -1)
        runs.append({"method": "LDA (gensim)", "seed": seed, "assignments": assignments,
                     "seconds": time.perf_counter() - started})
    results = []
    for run in runs:
        predicted = run["assignments"]
        results.append({
            "method": run["method"], "seed": run["seed"],
            "clusters": len(set(predicted) - {-1}), "outliers": sum(1 for label in predicted if label == -1),
            "nmi": normalized_mutual_info_score(truth, predicted),
            "ari": adjusted_rand_score(truth, predicted),
            "seconds": run["seconds"],
        })
    return {"set": job["set"], "documents": len(docs), "classes": k, "results": results}


def main():
    job = json.load(open(sys.argv[1], encoding="utf-8"))
    out = {"quality": [quality(entry) for entry in job.get("quality", [])],
           "labels": [labels(entry) for entry in job.get("labels", [])]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
